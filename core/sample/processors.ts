/**
 * Logits processors with Hugging Face `generate()` semantics, as small composable steps (like transformers.js'
 * logits_process.js). Option names are Hugging Face's, so its GenerationConfig docs apply. Processors work on
 * one row of next-token logits (length = vocabulary size) and may modify it in place; they return it.
 */
import { QuijoteError } from '../errors.ts';
import type { Rng } from './rng.ts';

export interface GenerationConfig {
  max_new_tokens: number;
  do_sample: boolean;
  /** Default 1 (no-op). Only used when do_sample. */
  temperature?: number;
  /** Default 50, as in Hugging Face's GenerationConfig; 0 disables. Only used when do_sample. */
  top_k?: number;
  /** Default 1 (no-op). Only used when do_sample. */
  top_p?: number;
  /** Default 1 (no-op). Applied in greedy and sampling modes. */
  repetition_penalty?: number;
  eos_token_id?: number | null;
  seed?: number;
}

export type LogitsProcessor = (logits: Float32Array, inputIds: readonly number[]) => Float32Array;

/** Hugging Face GenerationConfig defaults for the options that are optional here. */
export const HF_DEFAULTS = { temperature: 1, top_k: 50, top_p: 1, repetition_penalty: 1 } as const;

function badArgument(message: string): QuijoteError {
  return new QuijoteError('BAD_ARGUMENT', message, {
    hint: 'Fix the generation settings (Hugging Face GenerationConfig names) and try again.',
  });
}

/**
 * Hugging Face RepetitionPenaltyLogitsProcessor: every token id already present in `inputIds` (prompt
 * included; each id counted once) gets logit / penalty when positive, logit * penalty otherwise. Ids outside
 * the vocabulary are ignored. penalty 1 is a no-op.
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  if (!(Number.isFinite(penalty) && penalty > 0)) {
    throw badArgument(`repetition_penalty must be a finite number > 0, got ${String(penalty)}.`);
  }
  return (logits, inputIds) => {
    if (penalty === 1) return logits;
    const seen = new Set<number>();
    for (const id of inputIds) {
      if (seen.has(id) || !Number.isInteger(id) || id < 0 || id >= logits.length) continue;
      seen.add(id);
      const x = logits[id];
      logits[id] = x > 0 ? x / penalty : x * penalty;
    }
    return logits;
  };
}

/** Hugging Face TemperatureLogitsWarper: logits / t. t === 1 is a no-op. */
export function temperature(t: number): LogitsProcessor {
  if (!(Number.isFinite(t) && t > 0)) throw badArgument(`temperature must be a finite number > 0, got ${String(t)}.`);
  return (logits) => {
    if (t === 1) return logits;
    for (let i = 0; i < logits.length; i++) logits[i] /= t;
    return logits;
  };
}

/**
 * Hugging Face TopKLogitsWarper: threshold = the k-th largest logit (counting duplicates, like
 * torch.topk(...)[0][..., -1]); logits strictly below it become -Infinity, so ties at the threshold all stay.
 * k <= 0 or k >= vocabulary size is a no-op.
 */
export function topK(k: number): LogitsProcessor {
  if (!Number.isInteger(k)) throw badArgument(`top_k must be an integer >= 0, got ${String(k)}.`);
  return (logits) => {
    if (k <= 0 || k >= logits.length) return logits;
    const sorted = Float32Array.from(logits).sort(); // ascending; NaN sorts last
    const threshold = sorted[logits.length - k];
    for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
    return logits;
  };
}

/** Relative slack so that "mass exactly p" survives float rounding (kept mass >= p - TOP_P_EPS). */
const TOP_P_EPS = 1e-9;

/**
 * Hugging Face TopPLogitsWarper (min_tokens_to_keep = 1): softmax, sort ascending, cumulative sum; tokens whose
 * cumulative mass is <= 1 - p are set to -Infinity, the most probable token always stays. Result: the smallest
 * set of most probable tokens whose mass reaches p. Among equal logits the lower id counts as more probable
 * (is kept first). p >= 1 is a no-op.
 */
export function topP(p: number): LogitsProcessor {
  if (!(Number.isFinite(p) && p > 0 && p <= 1)) throw badArgument(`top_p must be in (0, 1], got ${String(p)}.`);
  return (logits) => {
    if (p >= 1 || logits.length <= 1) return logits;
    const probs = softmax(logits);
    // Zero-probability tokens sit at the start of the ascending order with cumulative mass 0 <= 1 - p, so they
    // are removed; only the others need sorting (after top_k that is a handful, not the whole vocabulary).
    const order: number[] = [];
    for (let i = 0; i < probs.length; i++) {
      if (probs[i] > 0) order.push(i);
      else logits[i] = -Infinity;
    }
    order.sort((i, j) => probs[i] - probs[j] || logits[i] - logits[j] || j - i);
    const cutoff = 1 - p + TOP_P_EPS;
    let cumulative = 0;
    for (let r = 0; r < order.length - 1; r++) {
      const id = order[r];
      cumulative += probs[id];
      if (cumulative > cutoff) break;
      logits[id] = -Infinity;
    }
    return logits;
  };
}

/**
 * The processor chain Hugging Face builds for these options, in its order: repetition_penalty (both modes),
 * then, only when do_sample, temperature, top_k, top_p. No-op settings add no step. Validates `cfg` first.
 */
export function buildProcessors(cfg: GenerationConfig): LogitsProcessor[] {
  validateGenerationConfig(cfg);
  const out: LogitsProcessor[] = [];
  const penalty = cfg.repetition_penalty ?? HF_DEFAULTS.repetition_penalty;
  if (penalty !== 1) out.push(repetitionPenalty(penalty));
  if (cfg.do_sample) {
    const t = cfg.temperature ?? HF_DEFAULTS.temperature;
    const k = cfg.top_k ?? HF_DEFAULTS.top_k;
    const p = cfg.top_p ?? HF_DEFAULTS.top_p;
    if (t !== 1) out.push(temperature(t));
    if (k !== 0) out.push(topK(k));
    if (p < 1) out.push(topP(p));
  }
  return out;
}

/** Runs `processors` in order over `logits` (in place) and returns it. */
export function applyProcessors(processors: readonly LogitsProcessor[], logits: Float32Array, inputIds: readonly number[]): Float32Array {
  let out = logits;
  for (const proc of processors) out = proc(out, inputIds);
  return out;
}

/**
 * Numerically stable softmax in float64. -Infinity logits get probability 0; if some logits are +Infinity
 * they share all the mass. Throws BAD_ARGUMENT on an empty row, a NaN, or a row that is all -Infinity.
 */
export function softmax(logits: Float32Array): Float64Array {
  const n = logits.length;
  if (n === 0) throw badArgument('softmax: the logits row is empty.');
  let max = -Infinity;
  let posInf = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    if (Number.isNaN(x)) throw new QuijoteError('INTERNAL', `softmax: logit ${i} is NaN; the model produced invalid numbers.`, { hint: 'Reload the model or lower the learning rate.' });
    if (x === Infinity) posInf++;
    if (x > max) max = x;
  }
  const out = new Float64Array(n);
  if (max === -Infinity) throw badArgument('softmax: every logit is -Infinity, so no token can be chosen (filters too strict).');
  if (posInf > 0) {
    for (let i = 0; i < n; i++) out[i] = logits[i] === Infinity ? 1 / posInf : 0;
    return out;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/** Index of the largest logit; the first one on ties (like torch.argmax). NaN entries are skipped. */
export function argmax(logits: Float32Array): number {
  if (logits.length === 0) throw badArgument('argmax: the logits row is empty.');
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (best === -1 ? !Number.isNaN(x) : x > bestValue) {
      best = i;
      bestValue = x;
    }
  }
  if (best === -1) throw new QuijoteError('INTERNAL', 'argmax: every logit is NaN; the model produced invalid numbers.', { hint: 'Reload the model or lower the learning rate.' });
  return best;
}

/** Multinomial draw from softmax(logits) using exactly one rng.next(). Zero-probability tokens never come out. */
export function sampleFrom(logits: Float32Array, rng: Rng): number {
  const probs = softmax(logits);
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  const u = rng.next() * total;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last; // only reached through rounding when u is within an ulp of total
}

/** Throws BAD_ARGUMENT naming the first invalid option. */
export function validateGenerationConfig(cfg: GenerationConfig): void {
  if (cfg === null || typeof cfg !== 'object') throw badArgument('The generation config must be an object.');
  if (!(Number.isInteger(cfg.max_new_tokens) && cfg.max_new_tokens >= 1)) {
    throw badArgument(`max_new_tokens must be an integer >= 1, got ${String(cfg.max_new_tokens)}.`);
  }
  if (typeof cfg.do_sample !== 'boolean') throw badArgument(`do_sample must be true or false, got ${String(cfg.do_sample)}.`);
  if (cfg.temperature !== undefined && !(Number.isFinite(cfg.temperature) && cfg.temperature > 0)) {
    throw badArgument(`temperature must be > 0, got ${String(cfg.temperature)}.`);
  }
  if (cfg.top_k !== undefined && !(Number.isInteger(cfg.top_k) && cfg.top_k >= 0)) {
    throw badArgument(`top_k must be an integer >= 0, got ${String(cfg.top_k)}.`);
  }
  if (cfg.top_p !== undefined && !(Number.isFinite(cfg.top_p) && cfg.top_p > 0 && cfg.top_p <= 1)) {
    throw badArgument(`top_p must be in (0, 1], got ${String(cfg.top_p)}.`);
  }
  if (cfg.repetition_penalty !== undefined && !(Number.isFinite(cfg.repetition_penalty) && cfg.repetition_penalty > 0)) {
    throw badArgument(`repetition_penalty must be > 0, got ${String(cfg.repetition_penalty)}.`);
  }
  if (cfg.eos_token_id !== undefined && cfg.eos_token_id !== null && !(Number.isInteger(cfg.eos_token_id) && cfg.eos_token_id >= 0)) {
    throw badArgument(`eos_token_id must be a token id (integer >= 0) or null, got ${String(cfg.eos_token_id)}.`);
  }
  if (cfg.seed !== undefined && !Number.isSafeInteger(cfg.seed)) {
    throw badArgument(`seed must be an integer, got ${String(cfg.seed)}.`);
  }
}
