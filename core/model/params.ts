/**
 * Turning a checkpoint's state dict into model weights and back. Names are GPT-2's (without the
 * "transformer." prefix); shapes are checked against config.json so a mismatched folder fails clearly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { QuijoteError } from '../errors.ts';
import type { StateDict } from './checkpoint.ts';
import type { GPT2Config } from './config.ts';
import type { GPT2, LoraSet, Weights } from './gpt2.ts';
import { variableFrom } from './ops.ts';

/** Every weight GPT-2 needs, with its expected shape. */
export function expectedShapes(c: GPT2Config): Map<string, number[]> {
  const C = c.nEmbd, F = c.nInner;
  const m = new Map<string, number[]>([['wte.weight', [c.vocabSize, C]], ['wpe.weight', [c.nPositions, C]]]);
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}.`;
    m.set(p + 'ln_1.weight', [C]); m.set(p + 'ln_1.bias', [C]);
    m.set(p + 'attn.c_attn.weight', [C, 3 * C]); m.set(p + 'attn.c_attn.bias', [3 * C]);
    m.set(p + 'attn.c_proj.weight', [C, C]); m.set(p + 'attn.c_proj.bias', [C]);
    m.set(p + 'ln_2.weight', [C]); m.set(p + 'ln_2.bias', [C]);
    m.set(p + 'mlp.c_fc.weight', [C, F]); m.set(p + 'mlp.c_fc.bias', [F]);
    m.set(p + 'mlp.c_proj.weight', [F, C]); m.set(p + 'mlp.c_proj.bias', [C]);
  }
  m.set('ln_f.weight', [C]); m.set('ln_f.bias', [C]);
  return m;
}

export interface BuildOptions {
  /** Full fine-tuning: every weight is a trainable tf.Variable. Otherwise weights are frozen. */
  trainable?: boolean;
  /** Names the messages use for the folder. */
  source?: string;
}

/** Builds a model from a state dict (validated against the config). */
export function buildModel(config: GPT2Config, sd: StateDict, opts: BuildOptions = {}): GPT2 {
  const source = opts.source ?? 'el checkpoint';
  const weights: Weights = {};
  const shapes = expectedShapes(config);
  if (!config.tieWordEmbeddings || sd.has('lm_head.weight')) shapes.set('lm_head.weight', [config.vocabSize, config.nEmbd]);
  try {
    for (const [name, shape] of shapes) {
      const t = sd.get(name);
      if (!t) {
        throw new QuijoteError('MODEL_CORRUPT', `${source}: falta el tensor \`${name}\`.`, { hint: 'El checkpoint está incompleto o no es un GPT-2: vuelve a descargarlo.' });
      }
      if (t.shape.join(',') !== shape.join(',')) {
        throw new QuijoteError('MODEL_CORRUPT', `${source}: \`${name}\` tiene forma [${t.shape}] y config.json pide [${shape}].`, { hint: 'config.json y los pesos no corresponden: vuelve a descargar el modelo.' });
      }
      const tensor = tf.tensor(t.data, shape, 'float32');
      weights[name] = opts.trainable ? variableFrom(tensor) : tensor;
    }
  } catch (e) {
    for (const w of Object.values(weights)) w.dispose();
    throw e;
  }
  const frozenWte = !opts.trainable && !weights['lm_head.weight'];
  return { config, weights, wteT: frozenWte ? (tf.transpose(weights['wte.weight']) as tf.Tensor2D) : null };
}

/** Random GPT-2 weights (N(0, 0.02), LayerNorm 1/0) for benchmarks of a model shape without a download. */
export async function randomModel(config: GPT2Config, opts: BuildOptions & { seed?: number } = {}): Promise<GPT2> {
  const sd: StateDict = new Map();
  let seed = opts.seed ?? 0;
  for (const [name, shape] of expectedShapes(config)) {
    const isNorm = /ln_\d|ln_f/.test(name);
    const t = isNorm ? (name.endsWith('weight') ? tf.ones(shape) : tf.zeros(shape))
      : name.endsWith('bias') ? tf.zeros(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', seed++);
    sd.set(name, { shape, data: (await t.data()) as Float32Array }); // async: WebGPU in Node cannot read synchronously
    t.dispose();
  }
  return buildModel(config, sd, opts);
}

export function disposeModel(model: GPT2): void {
  for (const w of Object.values(model.weights)) w.dispose();
  model.wteT?.dispose();
}

/** The model's weights as a state dict, with LoRA deltas merged in (W + scale·A·B). */
export async function exportStateDict(model: GPT2, lora: LoraSet | null = null): Promise<StateDict> {
  const out: StateDict = new Map();
  for (const [name, w] of Object.entries(model.weights)) {
    const pair = lora?.[name];
    const merged = pair ? tf.tidy(() => tf.add(w, tf.mul(tf.matMul(pair.A, pair.B), pair.scale))) : w;
    out.set(name, { shape: [...w.shape], data: (await merged.data()) as Float32Array });
    if (merged !== w) merged.dispose();
  }
  return out;
}
