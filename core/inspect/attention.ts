/**
 * Attention, per layer: the softmax weights a chosen token gives to every earlier token (itself included),
 * averaged over heads. Uses gpt2.ts's optional capture, so the normal forward pass is untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import { QuijoteError } from '../errors.ts';
import { hidden } from '../model/gpt2.ts';
import { forwardOptions, tokenPieces, type LmRef, type ModelPair } from './lm.ts';

/** Every layer's attention probabilities for one sequence: [layer][head][query][key] (keys after the query are 0). */
export async function attentionWeights(ref: LmRef, ids: number[]): Promise<Float32Array[][][]> {
  const stacked = tf.tidy(() => {
    const caught: tf.Tensor4D[] = [];
    hidden(ref.model, tf.tensor2d([ids], [1, ids.length], 'int32'), forwardOptions(ref, { attentions: caught }));
    return tf.stack(caught.map((a) => tf.squeeze(a, [0]))) as tf.Tensor4D; // [L, H, T, T]
  });
  const [L, H, T] = stacked.shape;
  const data = (await stacked.data()) as Float32Array;
  stacked.dispose();
  const out: Float32Array[][][] = [];
  for (let l = 0; l < L; l++) {
    const heads: Float32Array[][] = [];
    for (let h = 0; h < H; h++) {
      const rows: Float32Array[] = [];
      for (let q = 0; q < T; q++) rows.push(data.slice(((l * H + h) * T + q) * T, ((l * H + h) * T + q + 1) * T));
      heads.push(rows);
    }
    out.push(heads);
  }
  return out;
}

/** Row `query` of every layer, averaged over heads: [layer][key 0..query]. */
export async function attentionRow(ref: LmRef, ids: number[], query: number): Promise<number[][]> {
  if (!(Number.isInteger(query) && query >= 0 && query < ids.length)) throw new QuijoteError('BAD_ARGUMENT', `La posición ${query} no está en el texto.`);
  const t = tf.tidy(() => {
    const caught: tf.Tensor4D[] = [];
    hidden(ref.model, tf.tensor2d([ids.slice(0, query + 1)], [1, query + 1], 'int32'), forwardOptions(ref, { attentions: caught }));
    // causal: the row of `query` does not depend on later tokens, so they are left out
    return tf.stack(caught.map((a) => tf.mean(tf.slice(a, [0, 0, query, 0], [1, -1, 1, -1]), [0, 1, 2]))) as tf.Tensor2D; // [L, query+1]
  });
  const rows = (await t.array()) as number[][]; // async: WebGPU in Node has no synchronous read-back
  t.dispose();
  return rows;
}

export interface AttentionView {
  pieces: string[]; // the tokens up to and including the chosen one
  query: number; // index of the chosen token
  base: number[][]; // [layer][key]
  cls: number[][];
}

/**
 * Where in `text` the word is: the index of the last token of its first occurrence (case-insensitive, whole
 * word). Throws NOT_FOUND with the words there are when it is absent.
 */
export function findWordToken(pieces: readonly string[], word: string): number {
  const text = pieces.join('');
  const wanted = word.normalize('NFC').trim().toLowerCase();
  const re = /[\p{L}\p{N}\p{M}]+/gu;
  for (const m of text.matchAll(re)) {
    if (m[0].normalize('NFC').toLowerCase() !== wanted) continue;
    const end = (m.index ?? 0) + m[0].length;
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      at += pieces[i].length;
      if (at >= end) return i;
    }
  }
  throw new QuijoteError('NOT_FOUND', `La palabra «${word}» no está en el texto.`, { hint: 'Escribe una palabra que aparezca tal cual en el texto.' });
}

/** Attention of `word` (in `text`) to the tokens before it, per layer, in both models. */
export async function compareAttention(pair: ModelPair, text: string, word: string): Promise<AttentionView> {
  const ids = pair.tokenizer.encode(text).slice(0, pair.base.model.config.nPositions);
  if (ids.length === 0) throw new QuijoteError('BAD_ARGUMENT', 'El texto está vacío.', { hint: 'Escribe una frase.' });
  const pieces = tokenPieces(pair.tokenizer, ids);
  const query = findWordToken(pieces, word);
  return { pieces: pieces.slice(0, query + 1), query, base: await attentionRow(pair.base, ids, query), cls: await attentionRow(pair.cls, ids, query) };
}
