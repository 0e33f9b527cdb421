/**
 * The seed's main job as one function: build the Quijote dataset, measure eval loss before, fine-tune, measure
 * eval loss after, save the folder. The base model stays untouched, so "before" can be generated from it later.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainResult } from '../engine.ts';
import type { GPT2, LoraSet, Weights } from '../model/gpt2.ts';
import type { LoadedModel } from '../model/load.ts';
import type { GenerationConfig } from '../sample/processors.ts';
import { buildDataset } from '../text/dataset.ts';
import { disposeLora, type LoraOptions } from '../train/lora.ts';
import { evaluateLoss } from '../train/loss.ts';
import { mapOutOfMemory } from '../oom.ts';
import { saveFineTuned } from '../train/save.ts';
import { train, type TrainConfig, type TrainDeps } from '../train/trainer.ts';

export interface FinetuneParams {
  lines: number;
  evalLines: number;
  blockSize: number;
  train: TrainConfig;
  outDir: string;
  baseModelName: string;
  generation: GenerationConfig;
  /** Recorded in training_summary.json. */
  textSource: string;
  backend: string;
}

export interface FinetuneSummary extends TrainResult {
  trainBlocks: number;
  evalBlocks: number;
  blockSize: number;
  tokensSeen: number;
  tokensPerSecond: number;
  trainLines: string[];
}

/** A trainable view of frozen base weights: variables that share storage until the first update. */
function trainableCopy(base: GPT2): GPT2 {
  const weights: Weights = {};
  for (const [k, w] of Object.entries(base.weights)) weights[k] = tf.variable(w, true);
  return { config: base.config, weights, wteT: null };
}

export async function finetune(base: LoadedModel, bookLines: string[], p: FinetuneParams, deps: TrainDeps): Promise<FinetuneSummary> {
  const blockSize = Math.min(p.blockSize, base.model.config.nPositions); // like run_clm: never longer than the model
  const data = buildDataset(bookLines, { n: p.lines, evalLines: p.evalLines, blockSize, encode: (t) => base.tokenizer.encode(t) });
  const evalBefore = await mapOutOfMemory('evaluation', () => evaluateLoss(base.model, data.evalBlocks, { slice: deps.slice }));
  const model = p.train.method === 'full' ? trainableCopy(base.model) : base.model;
  let lora: LoraSet | null = null;
  try {
    const out = await train(model, data.trainBlocks, p.train, deps);
    lora = out.lora;
    const evalAfter = await mapOutOfMemory('evaluation', () => evaluateLoss(model, data.evalBlocks, { lora, slice: deps.slice }));
    const result: FinetuneSummary = {
      modelDir: p.outDir,
      lines: p.lines,
      epochs: p.train.epochs,
      lr: p.train.lr,
      method: p.train.method,
      evalLossBefore: evalBefore,
      evalLossAfter: evalAfter,
      perplexityBefore: Math.exp(evalBefore),
      perplexityAfter: Math.exp(evalAfter),
      lossCurve: out.lossCurve,
      optimizerSteps: out.optimizerSteps,
      seconds: out.seconds,
      trainBlocks: data.trainBlocks.length,
      evalBlocks: data.evalBlocks.length,
      blockSize,
      tokensSeen: out.tokensSeen,
      tokensPerSecond: out.seconds > 0 ? out.tokensSeen / out.seconds : 0,
      trainLines: data.trainLines,
    };
    await saveFineTuned({
      outDir: p.outDir, model, lora, loraOptions: p.train.lora as LoraOptions, baseDir: base.dir, baseModelName: p.baseModelName,
      configJson: base.configJson,
      generationConfig: {
        do_sample: p.generation.do_sample, temperature: p.generation.temperature, top_k: p.generation.top_k, top_p: p.generation.top_p,
        repetition_penalty: p.generation.repetition_penalty, max_new_tokens: p.generation.max_new_tokens,
        bos_token_id: base.model.config.bosTokenId, eos_token_id: base.model.config.eosTokenId,
      },
      summary: {
        base_model: p.baseModelName, backend: p.backend, text: p.textSource, eval_lines: p.evalLines,
        hyperparameters: { ...p.train, block_size: blockSize },
        data: { lines: p.lines, train_blocks: result.trainBlocks, eval_blocks: result.evalBlocks, first_line: data.trainLines[0], last_line: data.trainLines.at(-1) },
        metrics: { eval_loss_before: evalBefore, eval_loss_after: evalAfter, perplexity_before: result.perplexityBefore, perplexity_after: result.perplexityAfter, optimizer_steps: out.optimizerSteps, seconds: out.seconds, tokens_per_second: result.tokensPerSecond },
        loss_curve: out.lossCurve,
      },
    });
    return result;
  } finally {
    if (lora) disposeLora(lora);
    if (model !== base.model) for (const w of Object.values(model.weights)) w.dispose();
  }
}
