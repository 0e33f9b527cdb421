/**
 * What the inspection views compare: a language model as the forward pass sees it — weights plus an optional
 * LoRA set — so a class model may be its own folder (full fine-tuning, or a merged LoRA) or an adapter applied
 * to the resident base. Every view takes two of these (base and class) and never assumes which kind it gets.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hidden, logitsOf, type ForwardOptions, type GPT2, type LoraSet } from '../model/gpt2.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';

export interface LmRef {
  model: GPT2;
  lora?: LoraSet | null;
}

/** The base model and the class's model, with the tokenizer they share. */
export interface ModelPair {
  base: LmRef;
  cls: LmRef;
  tokenizer: TextTokenizer;
}

/** Forward options for `ref` in eval mode (no dropout). */
export function forwardOptions(ref: LmRef, extra: Partial<ForwardOptions> = {}): ForwardOptions {
  return { training: false, lora: ref.lora ?? null, ...extra };
}

/** Logits [T, V] of every position of one sequence (call inside tf.tidy). */
export function sequenceLogits(ref: LmRef, ids: number[], extra: Partial<ForwardOptions> = {}): tf.Tensor2D {
  const { h } = hidden(ref.model, tf.tensor2d([ids], [1, ids.length], 'int32'), forwardOptions(ref, extra));
  const C = ref.model.config.nEmbd;
  return logitsOf(ref.model, tf.reshape(h, [ids.length, C]) as tf.Tensor2D);
}

/** Next-token logits after `ids` (the last position only), read back to the host. */
export async function lastLogits(ref: LmRef, ids: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => {
    const { h } = hidden(ref.model, tf.tensor2d([ids], [1, ids.length], 'int32'), forwardOptions(ref));
    const C = ref.model.config.nEmbd;
    return logitsOf(ref.model, tf.reshape(tf.slice(h, [0, ids.length - 1, 0], [1, 1, C]), [1, C]) as tf.Tensor2D);
  });
  const data = new Float32Array((await t.data()) as Float32Array);
  t.dispose();
  return data;
}

/**
 * The text of each token, in order, such that their concatenation is the decoded text. A character split across
 * byte-level tokens (e.g. an "ñ" in two tokens) is given to the token that completes it; the earlier ones get "".
 */
export function tokenPieces(tokenizer: TextTokenizer, ids: readonly number[]): string[] {
  const out: string[] = [];
  let start = 0; // first id not yet accounted for
  for (let i = 0; i < ids.length; i++) {
    const text = tokenizer.decode(ids.slice(start, i + 1) as number[]);
    if (text.endsWith('\uFFFD') && i + 1 < ids.length && i + 1 - start < 4) { out.push(''); continue; }
    out.push(text);
    start = i + 1;
  }
  return out;
}
