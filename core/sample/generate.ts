/**
 * Autoregressive decoding with Hugging Face `generate()` semantics: a KV cache, logits of the last position
 * only, the logits processors of processors.ts (repetition penalty → temperature → top-k → top-p), a draw from
 * a seeded RNG (or argmax when greedy), max_new_tokens, and a stop at EOS. `onToken` sees every new token.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkGpuErrors } from '../backend.ts';
import { hidden, logitsOf, type GPT2, type KVCache, type LoraSet } from '../model/gpt2.ts';
import { applyProcessors, argmax, buildProcessors, sampleFrom, type GenerationConfig } from './processors.ts';
import { createRng, type Rng } from './rng.ts';

export interface GenerateOptions {
  lora?: LoraSet | null;
  rng?: Rng; // defaults to createRng(cfg.seed ?? 0)
  /** Called after each new token with all ids so far; return true to stop early. */
  onToken?: (id: number, ids: readonly number[]) => boolean | void;
}

export interface GenerateResult {
  ids: number[]; // prompt + new tokens
  newIds: number[];
  stoppedBy: 'eos' | 'max_new_tokens' | 'n_positions' | 'callback';
}

/** Next-token logits for `ids` given the cache; returns a fresh Float32Array and the new cache (kept). */
async function step(model: GPT2, ids: number[], past: KVCache | null, lora: LoraSet | null): Promise<{ logits: Float32Array; cache: KVCache }> {
  const out = tf.tidy(() => {
    const { h, cache } = hidden(model, tf.tensor2d([ids], [1, ids.length], 'int32'), { past, lora });
    const C = model.config.nEmbd;
    const last = tf.reshape(tf.slice(h, [0, ids.length - 1, 0], [1, 1, C]), [1, C]) as tf.Tensor2D; // only the last position
    return { logits: logitsOf(model, last), cache: cache.flatMap((c) => [c.k, c.v]) };
  });
  const logits = (await out.logits.data()) as Float32Array; // async: WebGPU in Node has no synchronous read-back
  checkGpuErrors();
  out.logits.dispose();
  const cache: KVCache = [];
  for (let i = 0; i < out.cache.length; i += 2) cache.push({ k: out.cache[i] as tf.Tensor4D, v: out.cache[i + 1] as tf.Tensor4D });
  return { logits: new Float32Array(logits), cache };
}

function disposeCache(c: KVCache | null): void {
  if (c) for (const l of c) { l.k.dispose(); l.v.dispose(); }
}

export async function generate(model: GPT2, promptIds: number[], cfg: GenerationConfig, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const processors = buildProcessors(cfg);
  const rng = opts.rng ?? createRng(cfg.seed ?? 0);
  const eos = cfg.eos_token_id ?? null;
  const ids = [...promptIds];
  if (ids.length === 0) ids.push(model.config.bosTokenId ?? 0);
  const start = ids.length;
  let cache: KVCache | null = null;
  let input = ids.slice(Math.max(0, ids.length - model.config.nPositions));
  let stoppedBy: GenerateResult['stoppedBy'] = 'max_new_tokens';
  try {
    for (let n = 0; n < cfg.max_new_tokens; n++) {
      const pastLen = cache?.[0].k.shape[2] ?? 0;
      if (pastLen + input.length > model.config.nPositions) { stoppedBy = 'n_positions'; break; }
      const r = await step(model, input, cache, opts.lora ?? null);
      disposeCache(cache);
      cache = r.cache;
      const logits = applyProcessors(processors, r.logits, ids);
      const next = cfg.do_sample ? sampleFrom(logits, rng) : argmax(logits);
      ids.push(next);
      if (opts.onToken?.(next, ids) === true) { stoppedBy = 'callback'; break; }
      if (eos !== null && next === eos) { stoppedBy = 'eos'; break; }
      input = [next];
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    disposeCache(cache);
  }
  return { ids, newIds: ids.slice(start), stoppedBy };
}
