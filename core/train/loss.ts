/**
 * Hugging Face's causal-LM loss: labels are the inputs, shifted inside — position t predicts token t+1 —
 * averaged over all B·(T−1) predictions. Only the T−1 positions that have a target go through the LM head.
 *
 * Two forms: `lmLoss` for training (differentiable, one graph), and `lossSum` for evaluation and scoring,
 * whose working memory is bounded: blocks run one at a time (gpt2.ts' hiddenInference) and the LM head runs
 * over at most `rowsPerChunk` positions at once, so the [N, vocab] logits never exist whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hidden, hiddenInference, logitsOf, type ForwardOptions, type GPT2, type LoraSet } from '../model/gpt2.ts';
import { crossEntropy } from '../model/ops.ts';
import type { GpuSlice } from '../engine.ts';

export function lmLoss(model: GPT2, ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
  const [B, T] = ids.shape;
  const C = model.config.nEmbd;
  const { h } = hidden(model, ids, opts); // [B, T, C]
  const hs = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, C]), [B * (T - 1), C]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [-1]) as tf.Tensor1D;
  return crossEntropy(logitsOf(model, hs), targets);
}

/** LM-head rows per chunk in `lossSum`: 512 × 50257 float32 logits = 103 MB at most. */
export const LOSS_ROWS_PER_CHUNK = 512;

/**
 * Σ over the B·(T−1) predictions of −log p(next token), without gradients and with bounded memory. Returns the
 * sum and the number of predictions (lmLoss = sum / count, up to float rounding).
 */
export async function lossSum(model: GPT2, ids: number[][], lora: LoraSet | null = null, rowsPerChunk = LOSS_ROWS_PER_CHUNK): Promise<{ sum: number; count: number }> {
  const B = ids.length, T = ids[0].length;
  const C = model.config.nEmbd, V = model.config.vocabSize;
  // A trainable (full fine-tune) copy has no cached wteᵀ: make it once, not once per chunk.
  const headT = !model.weights['lm_head.weight'] && !model.wteT ? (tf.transpose(model.weights['wte.weight']) as tf.Tensor2D) : null;
  const m: GPT2 = headT ? { ...model, wteT: headT } : model;
  const x = tf.tensor2d(ids, [B, T], 'int32');
  const h = hiddenInference(m, x, lora);
  x.dispose();
  const hs = tf.tidy(() => tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, C]), [B * (T - 1), C]) as tf.Tensor2D);
  h.dispose();
  const N = B * (T - 1);
  const targets = new Int32Array(N);
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) targets[b * (T - 1) + t] = ids[b][t + 1];
  let total: tf.Tensor = tf.scalar(0);
  for (let r = 0; r < N; r += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, N - r);
    const flat = new Int32Array(n); // index of each target inside the flattened [n, V] logits
    for (let i = 0; i < n; i++) flat[i] = i * V + targets[r + i];
    const next = tf.tidy(() => {
      const z = logitsOf(m, tf.slice(hs, [r, 0], [n, C]) as tf.Tensor2D); // [n, V]
      const picked = tf.gather(tf.reshape(z, [-1]), tf.tensor1d(flat, 'int32'));
      return tf.add(total, tf.sum(tf.sub(tf.logSumExp(z, -1), picked)));
    });
    total.dispose();
    total = next;
  }
  hs.dispose();
  headT?.dispose();
  const sum = (await total.data())[0];
  total.dispose();
  return { sum, count: N };
}

export interface EvaluateOptions {
  lora?: LoraSet | null;
  /** Blocks per forward pass (and per GPU slice). */
  batchSize?: number;
  /** Each batch runs as one slice, so the bot can answer a /story between two batches. */
  slice?: GpuSlice;
}

/** Blocks per evaluation batch: ~5 s per slice for the 124M on 2 wasm threads. */
export const EVAL_BATCH = 4;

/** Mean loss over equal-length blocks, in batches (eval mode: no dropout). */
export async function evaluateLoss(model: GPT2, blocks: number[][], opts: EvaluateOptions = {}): Promise<number> {
  if (blocks.length === 0) return NaN;
  const bs = opts.batchSize ?? EVAL_BATCH;
  const run: GpuSlice = opts.slice ?? ((fn) => fn());
  let sum = 0, count = 0;
  for (let i = 0; i < blocks.length; i += bs) {
    const r = await run(() => lossSum(model, blocks.slice(i, i + bs), opts.lora ?? null));
    sum += r.sum;
    count += r.count;
  }
  return sum / count;
}
