/**
 * "What changed, word by word": per-token log-probabilities log p(x_t | x_<t) under the base and the class model,
 * their difference (the heatmap), and the words whose mean log-probability rose or fell most on a text (the
 * held-out lines).
 */
import * as tf from '@tensorflow/tfjs-core';
import { QuijoteError } from '../errors.ts';
import { sequenceLogits, tokenPieces, type LmRef, type ModelPair } from './lm.ts';

/** log p(ids[t] | ids[<t]) for t ≥ 1 (natural log); entry 0 is NaN (nothing predicts the first token). */
export async function tokenLogprobs(ref: LmRef, ids: number[]): Promise<Float32Array> {
  const T = ids.length;
  const out = new Float32Array(T).fill(NaN);
  if (T < 2) return out;
  const t = tf.tidy(() => {
    const logits = tf.slice(sequenceLogits(ref, ids), [0, 0], [T - 1, -1]) as tf.Tensor2D; // [T-1, V]
    const V = logits.shape[1];
    // int32 then cast: tfjs-backend-wasm's OneHot ignores its dtype argument (as in ops.ts crossEntropy).
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(ids.slice(1), 'int32'), V), 'float32');
    return tf.sub(tf.sum(tf.mul(logits, onehot), -1), tf.logSumExp(logits, -1)); // [T-1]
  });
  out.set((await t.data()) as Float32Array, 1);
  t.dispose();
  return out;
}

export interface TokenDelta {
  id: number;
  piece: string;
  base: number; // log p under the base model (NaN for the first token)
  cls: number;
  delta: number; // cls − base
}

export interface TextComparison {
  tokens: TokenDelta[];
  /** true when the text was longer than the model's context and only its start was scored */
  truncated: boolean;
}

/** Per-token log-probabilities of `text` under both models (at most n_positions tokens). */
export async function compareText(pair: ModelPair, text: string): Promise<TextComparison> {
  const all = pair.tokenizer.encode(text);
  const n = Math.min(pair.base.model.config.nPositions, pair.cls.model.config.nPositions);
  const ids = all.slice(0, n);
  if (ids.length < 2) {
    throw new QuijoteError('BAD_ARGUMENT', 'El texto es demasiado corto: hacen falta al menos dos tokens.', { hint: 'Escribe al menos unas palabras.' });
  }
  const base = await tokenLogprobs(pair.base, ids);
  const cls = await tokenLogprobs(pair.cls, ids);
  const pieces = tokenPieces(pair.tokenizer, ids);
  return {
    tokens: ids.map((id, i) => ({ id, piece: pieces[i], base: base[i], cls: cls[i], delta: cls[i] - base[i] })),
    truncated: all.length > ids.length,
  };
}

export interface WordShift {
  word: string; // lowercased
  count: number;
  base: number; // mean log p(word) under the base model (sum over its tokens)
  cls: number;
  delta: number; // mean rise (cls − base)
}

export interface WordShifts { gained: WordShift[]; lost: WordShift[]; tokens: number; words: number }

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Words of `lines` whose mean log-probability rose (gained) or fell (lost) most from base to class model.
 * `models` is the pair, or a function that fetches it (called inside each slice). The text is scored in consecutive windows of `blockSize` tokens; a word counts when every token touching it
 * has a prediction (not the first of a window). Words seen fewer than `minCount` times are left out.
 */
export async function wordShifts(models: ModelPair | (() => Promise<ModelPair>), lines: readonly string[], opts: { blockSize?: number; minCount?: number; top?: number; slice?: <T>(fn: () => Promise<T>) => Promise<T> } = {}): Promise<WordShifts> {
  // With a slice, the pair is fetched again inside each one: between slices a cache may have swapped the models.
  const getPair = typeof models === 'function' ? models : async () => models;
  const run = opts.slice ?? (<T>(fn: () => Promise<T>) => fn());
  const first = await run(getPair);
  const tokenizer = first.tokenizer;
  const blockSize = Math.min(opts.blockSize ?? 128, first.base.model.config.nPositions);
  const minCount = opts.minCount ?? 3, top = opts.top ?? 10;
  const ids = tokenizer.encode(lines.join('\n'));
  const stats = new Map<string, { n: number; base: number; cls: number }>();
  let words = 0;
  for (let s = 0; s + 1 < ids.length; s += blockSize) {
    const block = ids.slice(s, s + blockSize);
    const [lb, lc] = await run(async () => {
      const pair = await getPair();
      return [await tokenLogprobs(pair.base, block), await tokenLogprobs(pair.cls, block)];
    });
    const pieces = tokenPieces(tokenizer, block);
    const ends: number[] = []; // char end of each token
    let at = 0;
    for (const p of pieces) ends.push((at += p.length));
    const text = pieces.join('');
    let t = 0;
    for (const m of text.matchAll(WORD)) {
      const from = m.index ?? 0, to = from + m[0].length;
      while (t < pieces.length && ends[t] <= from) t++;
      while (t > 0 && pieces[t - 1] === '') t--; // the first bytes of a character split across tokens
      let b = 0, c = 0, ok = true;
      for (let k = t; k < pieces.length && ends[k] - pieces[k].length < to; k++) {
        if (Number.isNaN(lb[k])) ok = false;
        b += lb[k]; c += lc[k];
      }
      if (!ok) continue;
      words++;
      const w = m[0].normalize('NFC').toLowerCase();
      const e = stats.get(w) ?? { n: 0, base: 0, cls: 0 };
      e.n++; e.base += b; e.cls += c;
      stats.set(w, e);
    }
  }
  const all: WordShift[] = [];
  for (const [word, e] of stats) {
    if (e.n < minCount) continue;
    all.push({ word, count: e.n, base: e.base / e.n, cls: e.cls / e.n, delta: (e.cls - e.base) / e.n });
  }
  const byDelta = [...all].sort((a, b) => b.delta - a.delta || a.word.localeCompare(b.word));
  return {
    gained: byDelta.filter((w) => w.delta > 0).slice(0, top),
    lost: byDelta.filter((w) => w.delta < 0).reverse().slice(0, top),
    tokens: ids.length,
    words,
  };
}
