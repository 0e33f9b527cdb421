/**
 * The Hugging Face Trainer's recipe, step by step: AdamW, linear decay to 0 over the optimizer steps (optional
 * warmup), gradient accumulation (a last partial accumulation still steps), clip grad norm 1.0, dropout on,
 * and a fresh shuffle of the blocks each epoch from a seeded RNG. Each optimizer step runs as one GPU slice,
 * so the bot can answer a /story between two steps; cancellation is honoured at step boundaries.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GpuSlice, TrainProgress } from '../engine.ts';
import { checkGpuErrors } from '../backend.ts';
import { QuijoteError } from '../errors.ts';
import type { GPT2, LoraSet } from '../model/gpt2.ts';
import { createRng, shuffle } from '../sample/rng.ts';
import { AdamW, clipCoefficient } from './adamw.ts';
import { createLora, loraVariables, type LoraOptions } from './lora.ts';
import { lmLoss } from './loss.ts';
import { linearSchedule, optimizerStepsPerEpoch } from './schedule.ts';

export interface TrainConfig {
  epochs: number;
  lr: number;
  batchSize: number;
  gradAccum: number;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  method: 'full' | 'lora';
  lora: LoraOptions;
}

export interface TrainDeps {
  now: () => number; // milliseconds, injected clock
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  slice?: GpuSlice;
}

export interface TrainOutcome {
  lora: LoraSet | null;
  lossCurve: Array<{ step: number; loss: number }>;
  optimizerSteps: number;
  tokensSeen: number;
  seconds: number;
}

const OOM = /out of memory|memory access out of bounds|Cannot allocate|WebAssembly\.Memory|OOM|Failed to allocate|Array buffer allocation failed/i;

export function outOfMemory(cause: unknown): QuijoteError {
  return new QuijoteError('OUT_OF_MEMORY', 'Memoria insuficiente durante el entrenamiento.', {
    cause,
    hint: 'Prueba --train-bs 1 o --block-size 64, o --method lora (entrena solo adaptadores y cabe en mucha menos memoria).',
  });
}

function cancelled(): QuijoteError {
  return new QuijoteError('CANCELLED', 'Entrenamiento cancelado.', { hint: 'Puedes lanzarlo de nuevo cuando quieras.' });
}

export async function train(model: GPT2, blocks: number[][], cfg: TrainConfig, deps: TrainDeps): Promise<TrainOutcome> {
  if (blocks.length === 0) {
    throw new QuijoteError('BAD_LINES', 'Con esas líneas no sale ni un bloque de entrenamiento.', { hint: 'Usa más líneas o un block size menor.' });
  }
  const slice: GpuSlice = deps.slice ?? ((fn) => fn());
  const rng = createRng(cfg.seed);
  const lora = cfg.method === 'lora' ? createLora(model, cfg.lora, cfg.seed) : null;
  const params = lora ? loraVariables(lora) : (Object.values(model.weights) as tf.Variable[]);
  if (!lora && !params.every((p) => p instanceof tf.Variable && p.trainable)) {
    throw new QuijoteError('INTERNAL', 'Full fine-tuning needs a model built with trainable weights.');
  }
  const opt = new AdamW(params, { weightDecay: cfg.weightDecay });
  const perEpoch = optimizerStepsPerEpoch(blocks.length, cfg.batchSize, cfg.gradAccum);
  const total = perEpoch * cfg.epochs;
  const lrAt = linearSchedule({ baseLr: cfg.lr, totalSteps: total, warmupSteps: cfg.warmupSteps });
  const nextSeed = () => rng.int(2 ** 31);
  const T = blocks[0].length;
  const start = deps.now();
  const lossCurve: TrainOutcome['lossCurve'] = [];
  let step = 0, tokens = 0;
  deps.onProgress?.({ step: 0, totalSteps: total, epoch: 0, loss: NaN, learningRate: lrAt(0), tokensPerSecond: 0, etaSeconds: NaN });

  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const order = shuffle([...blocks.keys()], rng);
      const batches: number[][] = [];
      for (let i = 0; i < order.length; i += cfg.batchSize) batches.push(order.slice(i, i + cfg.batchSize));
      for (let j0 = 0; j0 < batches.length; j0 += cfg.gradAccum) {
        if (deps.signal?.aborted) throw cancelled();
        const group = batches.slice(j0, j0 + cfg.gradAccum);
        const lr = lrAt(step);
        // Every tensor the step makes is owned here, so a step that fails half-way (out of memory, a GPU error)
        // leaks none of them: the catch disposes whatever is still alive.
        const owned: tf.Tensor[] = [];
        const own = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
        const loss = await slice(async () => {
          try {
            let acc: tf.Tensor[] | null = null;
            const losses: tf.Tensor[] = [];
            for (const b of group) {
              const x = own(tf.tensor2d(b.map((k) => blocks[k]), undefined, 'int32'));
              const { value, grads } = tf.variableGrads(
                () => tf.div(lmLoss(model, x, { training: true, lora, nextSeed }), cfg.gradAccum) as tf.Scalar, params);
              x.dispose();
              losses.push(own(value));
              const g = params.map((p) => own(grads[p.name]));
              if (!acc) acc = g;
              else {
                const prev: tf.Tensor[] = acc;
                acc = prev.map((a, i) => own(tf.add(a, g[i])));
                prev.forEach((t) => t.dispose());
                g.forEach((t) => t.dispose());
              }
              tokens += b.length * T;
            }
            const { norm, coef } = clipCoefficient(acc!, cfg.maxGradNorm);
            own(norm), own(coef);
            opt.step(acc!, lr, coef); // clip_grad_norm_'s factor applied inside the update
            tf.dispose([...acc!, norm, coef]);
            // Read the losses only now: the whole step is queued, so a GPU never waits on the host mid-step.
            let lossSum = 0;
            for (const v of losses) { lossSum += (await v.data())[0] * cfg.gradAccum; v.dispose(); }
            checkGpuErrors();
            return lossSum / group.length;
          } catch (e) {
            for (const t of owned) if (!t.isDisposed) t.dispose();
            throw e;
          }
        });
        step += 1;
        lossCurve.push({ step, loss });
        const elapsed = (deps.now() - start) / 1000;
        deps.onProgress?.({
          step, totalSteps: total, epoch: epoch + Math.min(1, (j0 + group.length) / batches.length), loss, learningRate: lr,
          tokensPerSecond: elapsed > 0 ? tokens / elapsed : 0, etaSeconds: (elapsed / step) * (total - step),
        });
        await new Promise((r) => setImmediate(r)); // let the event loop breathe between steps
      }
    }
  } catch (e) {
    opt.dispose();
    if (lora) for (const v of loraVariables(lora)) v.dispose();
    if (e instanceof QuijoteError) throw e;
    if (OOM.test(String((e as Error)?.message ?? e))) throw outOfMemory(e);
    throw e;
  }
  opt.dispose();
  return { lora, lossCurve, optimizerSteps: step, tokensSeen: tokens, seconds: (deps.now() - start) / 1000 };
}
