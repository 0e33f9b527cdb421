/**
 * Hugging Face's causal-LM loss: labels are the inputs, shifted inside — position t predicts token t+1 —
 * averaged over all B·(T−1) predictions. Only the T−1 positions that have a target go through the LM head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hidden, logitsOf, type ForwardOptions, type GPT2 } from '../model/gpt2.ts';
import { crossEntropy } from '../model/ops.ts';

export function lmLoss(model: GPT2, ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
  const [B, T] = ids.shape;
  const C = model.config.nEmbd;
  const { h } = hidden(model, ids, opts); // [B, T, C]
  const hs = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, C]), [B * (T - 1), C]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [-1]) as tf.Tensor1D;
  return crossEntropy(logitsOf(model, hs), targets);
}

/** Mean loss over equal-length blocks, in batches (eval mode: no dropout). */
export async function evaluateLoss(model: GPT2, blocks: number[][], opts: { lora?: ForwardOptions['lora']; batchSize?: number; slice?: <T>(fn: () => Promise<T>) => Promise<T> } = {}): Promise<number> {
  if (blocks.length === 0) return NaN;
  const bs = opts.batchSize ?? 8;
  const run = opts.slice ?? (<T>(fn: () => Promise<T>) => fn());
  let total = 0;
  for (let i = 0; i < blocks.length; i += bs) {
    const chunk = blocks.slice(i, i + bs);
    total += await run(async () => {
      const loss = tf.tidy(() => lmLoss(model, tf.tensor2d(chunk, undefined, 'int32'), { lora: opts.lora ?? null }));
      const v = (await loss.data())[0];
      loss.dispose();
      return v * chunk.length;
    });
  }
  return total / blocks.length;
}
