/**
 * The seed's main job as one function: build the Quijote dataset, measure eval loss before (or take it from
 * the cache), fine-tune, save the folder, tell the caller it is saved (the bot posts the blind poll then), and
 * measure eval loss after in small slices, so stories run between them. The base model stays untouched, so
 * "before" can be generated from it later; a LoRA run saves the adapter, which is applied to that same base.
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
import { saveFineTuned, writeSummary } from '../train/save.ts';
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
  /** The base model's eval loss when already known (eval-loss cache); computed otherwise. */
  evalLossBefore?: number;
  /** LoRA: also write a merged full model.safetensors (the CLI asks; the bot serves the adapter). */
  mergedCopy?: boolean;
  /** Recorded in training_summary.json so later readers can reuse the after-training loss (eval-cache.ts). */
  evalKey?: string;
  baseFingerprint?: string;
  /**
   * A run with a teacher's text: its held-out lines as token blocks and the base model's loss on them; the
   * class model is measured on them after training too ("what we gained, what we lost").
   */
  teacherEval?: { name: string; lines: number; blocks: number[][]; lossBefore: number; hash: string; mix: number; quijoteLines: number; teacherLines: number };
}

export interface FinetuneDeps extends TrainDeps {
  /** The class model folder is complete (before the after-training evaluation). */
  onSaved?: (info: { modelDir: string; evalLossBefore: number }) => void;
}

/** Seconds of each phase of the main job. */
export interface FinetunePhases { evalBefore: number; evalBeforeCached: boolean; train: number; save: number; evalAfter: number }

export interface FinetuneSummary extends TrainResult {
  trainBlocks: number;
  evalBlocks: number;
  blockSize: number;
  tokensSeen: number;
  tokensPerSecond: number;
  trainLines: string[];
  phases: FinetunePhases;
}

/** A trainable view of frozen base weights: variables that share storage until the first update. */
function trainableCopy(base: GPT2): GPT2 {
  const weights: Weights = {};
  for (const [k, w] of Object.entries(base.weights)) weights[k] = tf.variable(w, true);
  return { config: base.config, weights, wteT: null };
}

export async function finetune(base: LoadedModel, bookLines: string[], p: FinetuneParams, deps: FinetuneDeps): Promise<FinetuneSummary> {
  const blockSize = Math.min(p.blockSize, base.model.config.nPositions); // like run_clm: never longer than the model
  const data = buildDataset(bookLines, { n: p.lines, evalLines: p.evalLines, blockSize, encode: (t) => base.tokenizer.encode(t) });
  const secondsSince = (t: number) => (deps.now() - t) / 1000;
  let t0 = deps.now();
  const evalBefore = p.evalLossBefore ?? await mapOutOfMemory('evaluation', () => evaluateLoss(base.model, data.evalBlocks, { slice: deps.slice }));
  const phases: FinetunePhases = { evalBefore: secondsSince(t0), evalBeforeCached: p.evalLossBefore !== undefined, train: 0, save: 0, evalAfter: 0 };
  const model = p.train.method === 'full' ? trainableCopy(base.model) : base.model;
  let lora: LoraSet | null = null;
  try {
    t0 = deps.now();
    const out = await train(model, data.trainBlocks, p.train, deps);
    phases.train = secondsSince(t0);
    lora = out.lora;
    const tokensPerSecond = out.seconds > 0 ? out.tokensSeen / out.seconds : 0;
    const summary = {
      base_model: p.baseModelName, backend: p.backend, text: p.textSource, eval_lines: p.evalLines,
      ...(p.evalKey ? { eval_key: p.evalKey } : {}), ...(p.baseFingerprint ? { base_fingerprint: p.baseFingerprint } : {}),
      format: lora ? (p.mergedCopy ? 'lora-adapter+merged' : 'lora-adapter') : 'full',
      hyperparameters: { ...p.train, block_size: blockSize },
      data: { lines: p.lines, train_blocks: data.trainBlocks.length, eval_blocks: data.evalBlocks.length, first_line: data.trainLines[0], last_line: data.trainLines.at(-1) },
      metrics: {
        eval_loss_before: evalBefore, eval_loss_after: null as number | null, perplexity_before: Math.exp(evalBefore), perplexity_after: null as number | null,
        optimizer_steps: out.optimizerSteps, seconds: out.seconds, tokens_per_second: tokensPerSecond,
      },
      loss_curve: out.lossCurve,
      ...(p.teacherEval ? {
        teacher_text: {
          name: p.teacherEval.name, sha256: p.teacherEval.hash, mix: p.teacherEval.mix, quijote_lines: p.teacherEval.quijoteLines,
          teacher_lines: p.teacherEval.teacherLines, eval_lines: p.teacherEval.lines, eval_blocks: p.teacherEval.blocks.length,
          eval_loss_before: p.teacherEval.lossBefore, eval_loss_after: null as number | null,
        },
      } : {}),
    };
    t0 = deps.now();
    await saveFineTuned({
      outDir: p.outDir, model, lora, loraOptions: p.train.lora as LoraOptions, baseDir: base.dir, baseModelName: p.baseModelName,
      configJson: base.configJson, mergedCopy: p.mergedCopy,
      generationConfig: {
        do_sample: p.generation.do_sample, temperature: p.generation.temperature, top_k: p.generation.top_k, top_p: p.generation.top_p,
        repetition_penalty: p.generation.repetition_penalty, max_new_tokens: p.generation.max_new_tokens,
        bos_token_id: base.model.config.bosTokenId, eos_token_id: base.model.config.eosTokenId,
      },
      summary,
    });
    phases.save = secondsSince(t0);
    deps.onSaved?.({ modelDir: p.outDir, evalLossBefore: evalBefore });
    t0 = deps.now();
    const evalAfter = await mapOutOfMemory('evaluation', () => evaluateLoss(model, data.evalBlocks, { lora, slice: deps.slice }));
    const te = p.teacherEval;
    const teacherAfter = te ? await mapOutOfMemory('evaluation', () => evaluateLoss(model, te.blocks, { lora, slice: deps.slice })) : undefined;
    phases.evalAfter = secondsSince(t0);
    summary.metrics.eval_loss_after = evalAfter;
    summary.metrics.perplexity_after = Math.exp(evalAfter);
    if (summary.teacher_text && teacherAfter !== undefined) summary.teacher_text.eval_loss_after = teacherAfter;
    await writeSummary(p.outDir, summary);
    return {
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
      tokensPerSecond,
      trainLines: data.trainLines,
      phases,
      ...(te && teacherAfter !== undefined ? {
        teacherEval: {
          name: te.name, lines: te.lines, lossBefore: te.lossBefore, lossAfter: teacherAfter,
          perplexityBefore: Math.exp(te.lossBefore), perplexityAfter: Math.exp(teacherAfter),
        },
        quijoteLines: te.quijoteLines,
        teacherLines: te.teacherLines,
      } : {}),
    };
  } finally {
    if (lora) disposeLora(lora);
    if (model !== base.model) for (const w of Object.values(model.weights)) w.dispose();
  }
}
