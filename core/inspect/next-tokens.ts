/**
 * "The class is the sampler": the next-token distribution of a model after a prompt as the sampler sees it
 * (repetition penalty, then temperature), its most probable tokens, and which of them survive the top-k and
 * top-p cut-offs — computed with the very processors generation uses (core/sample/processors.ts).
 */
import { QuijoteError } from '../errors.ts';
import { repetitionPenalty, softmax, temperature as temperatureOf, topK as topKOf, topP as topPOf } from '../sample/processors.ts';
import { lastLogits, tokenPieces, type LmRef, type ModelPair } from './lm.ts';

export interface SamplerSettings {
  temperature: number;
  topK: number; // 0 = off
  topP: number; // 1 = off
  repetitionPenalty?: number; // 1 = off
}

export interface NextToken {
  id: number;
  piece: string;
  /** probability after repetition penalty and temperature, before the cut-offs */
  prob: number;
  /** log-softmax of the raw logits (temperature 1, no penalty) */
  logprob: number;
  /** still drawable after top-k and top-p */
  kept: boolean;
}

export interface NextTokenView {
  tokens: NextToken[]; // most probable first
  /** how many of the shown tokens survive top-k alone, and top-k then top-p (what the sampler may draw) */
  keptByTopK: number;
  keptByTopP: number;
  /** total probability of the tokens the sampler may draw (all of the vocabulary, not only those shown) */
  keptMass: number;
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - lse);
}

/** The view of one row of next-token logits (exported for tests and for callers that already have logits). */
export function nextTokenView(raw: Float32Array, context: readonly number[], s: SamplerSettings, top = 10): Omit<NextTokenView, 'tokens'> & { tokens: Omit<NextToken, 'piece'>[] } {
  if (!(Number.isFinite(s.temperature) && s.temperature > 0)) {
    throw new QuijoteError('BAD_ARGUMENT', `La temperatura debe ser un número mayor que 0; recibido: ${String(s.temperature)}.`, { hint: 'Prueba con 0.7, 1 o 1.5.' });
  }
  const lp = logSoftmax(raw);
  const shaped = repetitionPenalty(s.repetitionPenalty ?? 1)(Float32Array.from(raw), context);
  temperatureOf(s.temperature)(shaped, context);
  const probs = softmax(shaped);
  const afterK = topKOf(s.topK)(Float32Array.from(shaped), context);
  const afterP = topPOf(s.topP)(Float32Array.from(afterK), context);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, top);
  let keptMass = 0;
  for (let i = 0; i < probs.length; i++) if (afterP[i] !== -Infinity) keptMass += probs[i];
  const tokens = order.map((id) => ({ id, prob: probs[id], logprob: lp[id], kept: afterP[id] !== -Infinity }));
  return {
    tokens,
    keptByTopK: order.filter((id) => afterK[id] !== -Infinity).length,
    keptByTopP: tokens.filter((t) => t.kept).length,
    keptMass,
  };
}

/** The `top` most probable next tokens of one model after `ids`. */
export async function nextTokens(ref: LmRef, tokenizer: ModelPair['tokenizer'], ids: number[], s: SamplerSettings, top = 10): Promise<NextTokenView> {
  if (ids.length === 0) throw new QuijoteError('BAD_ARGUMENT', 'Hace falta un comienzo de texto.', { hint: 'Escribe unas palabras en prompt.' });
  const window = ids.slice(Math.max(0, ids.length - ref.model.config.nPositions));
  const v = nextTokenView(await lastLogits(ref, window), ids, s, top);
  return { ...v, tokens: v.tokens.map((t) => ({ ...t, piece: pieceOf(tokenizer, ids, t.id) })) };
}

/** The text a token adds after `context` (a byte-level token may finish a character begun before it). */
function pieceOf(tokenizer: ModelPair['tokenizer'], context: readonly number[], id: number): string {
  const tail = context.slice(-3) as number[];
  const pieces = tokenPieces(tokenizer, [...tail, id]);
  return pieces[pieces.length - 1];
}

/** Both models' views after the same context. */
export async function compareNextTokens(pair: ModelPair, ids: number[], s: SamplerSettings, top = 10): Promise<{ base: NextTokenView; cls: NextTokenView }> {
  return { base: await nextTokens(pair.base, pair.tokenizer, ids, s, top), cls: await nextTokens(pair.cls, pair.tokenizer, ids, s, top) };
}
