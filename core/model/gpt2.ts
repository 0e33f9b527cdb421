/**
 * GPT-2 as Hugging Face's GPT2LMHeadModel computes it, in the spirit of nanoGPT's model.py:
 * learned positions, pre-LayerNorm blocks, gelu_new, Conv1D weights in [in, out] layout, attention scaled by
 * 1/sqrt(head_dim), tied LM head, dropout only while training.
 *
 * Weights are kept under GPT-2's own names without the "transformer." prefix ("wte.weight",
 * "h.0.attn.c_attn.weight", ...), so checkpoints map one to one. Shapes: B batch, T new tokens, S keys
 * (past + new), C n_embd, H heads, D = C / H.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2Config } from './config.ts';
import { custom, dropoutOp, geluNew, isTrainable, layerNorm, lmHead, matmul } from './ops.ts';

export type Weights = Record<string, tf.Tensor>;

/** A low-rank adapter on one Conv1D weight: W' = W + scale · A·B, A [in, r], B [r, out]. */
export interface LoraPair { A: tf.Variable; B: tf.Variable; scale: number; dropout: number }
export type LoraSet = Record<string, LoraPair>; // keyed by weight name, e.g. "h.0.attn.c_attn.weight"

export interface LayerCache { k: tf.Tensor4D; v: tf.Tensor4D } // [B, H, S, D]
export type KVCache = LayerCache[];

export interface GPT2 {
  config: GPT2Config;
  weights: Weights;
  /** Cached wteᵀ [C, V] for generation and frozen-embedding training (null when wte trains). */
  wteT: tf.Tensor2D | null;
}

export interface ForwardOptions {
  training?: boolean;
  past?: KVCache | null;
  lora?: LoraSet | null;
  /** Seeds for dropout masks, drawn from the trainer's RNG so runs are reproducible. */
  nextSeed?: () => number;
  /**
   * Inspection only: when given, each layer pushes its attention probabilities [B, H, T, S] (after the causal
   * mask and softmax, before dropout) here. The caller owns them. Left out, the normal path is unchanged.
   */
  attentions?: tf.Tensor4D[] | null;
}

interface Ctx { model: GPT2; training: boolean; lora: LoraSet | null; nextSeed: () => number; attentions: tf.Tensor4D[] | null }

function dropout(x: tf.Tensor, rate: number, ctx: Ctx): tf.Tensor {
  return ctx.training && rate > 0 ? dropoutOp(x, rate, ctx.nextSeed()) : x;
}

/** Conv1D: x [N, in] · W [in, out] + b, plus the LoRA delta when one is attached to W. */
function conv1d(x: tf.Tensor2D, name: string, ctx: Ctx): tf.Tensor2D {
  const W = ctx.model.weights[`${name}.weight`];
  let y = tf.add(matmul(x, W, !isTrainable(W)), ctx.model.weights[`${name}.bias`]) as tf.Tensor2D;
  const pair = ctx.lora?.[`${name}.weight`];
  if (pair) {
    const xd = dropout(x, pair.dropout, ctx) as tf.Tensor2D;
    y = tf.add(y, tf.mul(matmul(matmul(xd, pair.A), pair.B), pair.scale)) as tf.Tensor2D;
  }
  return y;
}

/** Additive causal mask [T, S]: query i (absolute position S-T+i) sees keys 0..S-T+i. */
function causalMask(T: number, S: number): tf.Tensor2D {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = S - T + i + 1; j < S; j++) m[i * S + j] = -1e9;
  return tf.tensor2d(m, [T, S]);
}

/** Per-slice 2-D products: out[i] = a[i] · b[i] for a [N, M, K], b [N, K, P] -> [N, M, P]. */
function perSlice(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const as = tf.unstack(a) as tf.Tensor2D[], bs = tf.unstack(b) as tf.Tensor2D[];
  return tf.stack(as.map((x, i) => tf.matMul(x, bs[i]))) as tf.Tensor3D;
}
const swap = (t: tf.Tensor3D) => tf.transpose(t, [0, 2, 1]) as tf.Tensor3D;

/**
 * causal attention of q, k, v [N = B·H, T, D] -> [N, T, D] with one plain 2-D matmul per (batch,
 * head) slice forward and backward. On wasm every batched or transposed matmul runs tfjs' scalar fallback
 * (~2 GFLOPS, one thread); plain 2-D products go to XNNPACK (~25-40 GFLOPS, threaded). `keep` is the
 * dropout multiplier of the probabilities (tf.dropout's), or null.
 */
function causalAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number, keep: tf.Tensor3D | null): tf.Tensor3D {
  const T = q.shape[1];
  const f = custom((qq: tf.Tensor3D, kk: tf.Tensor3D, vv: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const mask = causalMask(T, T);
    const p = tf.softmax(tf.add(tf.mul(perSlice(qq, swap(kk)), scale), mask)) as tf.Tensor3D; // [N, T, T]
    const pd = keep ? (tf.mul(p, keep) as tf.Tensor3D) : p;
    save(keep ? [qq, kk, vv, p, pd, keep] : [qq, kk, vv, p, pd]); // saved tensors survive the forward's tidy
    return {
      value: perSlice(pd, vv),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [qs, ks, vs, ps, pds, kp] = saved as tf.Tensor3D[];
        const dpd = perSlice(dy, swap(vs)); // dY · vᵀ
        const dv = perSlice(swap(pds), dy); // Pᵀ · dY
        const dp = kp ? tf.mul(dpd, kp) : dpd;
        const ds = tf.mul(tf.mul(ps, tf.sub(dp, tf.sum(tf.mul(dp, ps), -1, true))), scale) as tf.Tensor3D;
        return [perSlice(ds, ks), perSlice(swap(ds), qs), dv];
      },
    };
  });
  return f(q, k, v);
}

/** Causal self-attention. x [B, T, C] -> [B, T, C]; returns the new keys/values for the cache. */
function attention(x: tf.Tensor3D, l: number, ctx: Ctx, past: LayerCache | null): { y: tf.Tensor3D; cache: LayerCache } {
  const { nEmbd: C, nHead: H } = ctx.model.config;
  const [B, T] = x.shape;
  const D = C / H;
  const scale = ctx.model.config.scaleAttnWeights ? 1 / Math.sqrt(D) : 1;
  const qkv = conv1d(tf.reshape(x, [B * T, C]), `h.${l}.attn.c_attn`, ctx); // [B*T, 3C]
  // Rank-4 transpose (tfjs-backend-wasm's rank-5 transpose runs ~30× slower per element).
  const heads = tf.transpose(tf.reshape(qkv, [B, T, 3 * H, D]), [0, 2, 1, 3]); // [B, 3H, T, D]
  let [q, k, v] = tf.split(heads, 3, 1) as tf.Tensor4D[]; // each [B, H, T, D]
  let y: tf.Tensor;
  if (!past && T > 1 && tf.getBackend() === 'wasm' && !ctx.attentions) {
    const rate = ctx.model.config.attnPdrop;
    const keep = ctx.training && rate > 0 ? (tf.dropout(tf.ones([B * H, T, T]), rate, undefined, ctx.nextSeed()) as tf.Tensor3D) : null;
    const r3 = (t: tf.Tensor4D) => tf.reshape(t, [B * H, T, D]) as tf.Tensor3D;
    y = tf.reshape(causalAttention(r3(q), r3(k), r3(v), scale, keep), [B, H, T, D]);
  } else {
    if (past) {
      k = tf.concat([past.k, k], 2); // [B, H, S, D]
      v = tf.concat([past.v, v], 2);
    }
    const S = k.shape[2];
    let att = matmul(q, tf.transpose(k, [0, 1, 3, 2])); // [B, H, T, S]
    if (scale !== 1) att = tf.mul(att, scale);
    if (T > 1) att = tf.add(att, causalMask(T, S));
    att = tf.softmax(att);
    ctx.attentions?.push(att as tf.Tensor4D);
    att = dropout(att, ctx.model.config.attnPdrop, ctx);
    y = matmul(att, v);
  }
  const y2 = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, C]); // [B*T, C]
  const out = dropout(conv1d(y2 as tf.Tensor2D, `h.${l}.attn.c_proj`, ctx), ctx.model.config.residPdrop, ctx);
  return { y: tf.reshape(out, [B, T, C]), cache: { k, v } };
}

/** MLP: c_fc -> gelu_new -> c_proj. x [B, T, C] -> [B, T, C]. */
function mlp(x: tf.Tensor3D, l: number, ctx: Ctx): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const h = geluNew(conv1d(tf.reshape(x, [B * T, C]), `h.${l}.mlp.c_fc`, ctx)) as tf.Tensor2D; // [B*T, 4C]
  const out = dropout(conv1d(h, `h.${l}.mlp.c_proj`, ctx), ctx.model.config.residPdrop, ctx);
  return tf.reshape(out, [B, T, C]);
}

/** Pre-LayerNorm transformer block. */
function block(x: tf.Tensor3D, l: number, ctx: Ctx, past: LayerCache | null): { x: tf.Tensor3D; cache: LayerCache } {
  const w = ctx.model.weights, eps = ctx.model.config.layerNormEpsilon;
  const a = attention(layerNorm(x, w[`h.${l}.ln_1.weight`], w[`h.${l}.ln_1.bias`], eps) as tf.Tensor3D, l, ctx, past);
  x = tf.add(x, a.y);
  x = tf.add(x, mlp(layerNorm(x, w[`h.${l}.ln_2.weight`], w[`h.${l}.ln_2.bias`], eps) as tf.Tensor3D, l, ctx));
  return { x, cache: a.cache };
}

/**
 * The transformer trunk: ids [B, T] -> final hidden states [B, T, C] (after ln_f) and the updated cache.
 * Positions continue after the cached ones.
 */
export function hidden(model: GPT2, ids: tf.Tensor2D, opts: ForwardOptions = {}): { h: tf.Tensor3D; cache: KVCache } {
  const ctx: Ctx = { model, training: opts.training ?? false, lora: opts.lora ?? null, nextSeed: opts.nextSeed ?? (() => Math.floor(Math.random() * 2 ** 31)), attentions: opts.attentions ?? null };
  const { nEmbd: C, nLayer, nPositions, embdPdrop, layerNormEpsilon: eps } = model.config;
  const [B, T] = ids.shape;
  const t0 = opts.past?.[0]?.k.shape[2] ?? 0;
  if (t0 + T > nPositions) throw new RangeError(`sequence of ${t0 + T} tokens exceeds n_positions ${nPositions}`);
  const w = model.weights;
  const tok = tf.reshape(tf.gather(w['wte.weight'], tf.reshape(ids, [-1])), [B, T, C]); // [B, T, C]
  const pos = tf.gather(w['wpe.weight'], tf.range(t0, t0 + T, 1, 'int32')); // [T, C]
  let x = dropout(tf.add(tok, pos), embdPdrop, ctx) as tf.Tensor3D;
  const cache: KVCache = [];
  for (let l = 0; l < nLayer; l++) {
    const r = block(x, l, ctx, opts.past?.[l] ?? null);
    x = r.x;
    cache.push(r.cache);
  }
  return { h: layerNorm(x, w['ln_f.weight'], w['ln_f.bias'], eps) as tf.Tensor3D, cache };
}

/**
 * The trunk for evaluation and scoring: ids [B, T] -> final hidden states [B, T, C], no gradients, no cache,
 * each block in its own tidy so its intermediates are freed as soon as the next block's input exists. (One
 * tidy around the whole forward keeps every layer's activations alive until the end: ~1 GB at 8 × 128 on the
 * 124M, which with two resident models pushed the 4 GiB wasm heap to its ceiling.)
 */
export function hiddenInference(model: GPT2, ids: tf.Tensor2D, lora: LoraSet | null = null): tf.Tensor3D {
  const ctx: Ctx = { model, training: false, lora, nextSeed: () => 0, attentions: null };
  const { nEmbd: C, nLayer, nPositions, layerNormEpsilon: eps } = model.config;
  const [B, T] = ids.shape;
  if (T > nPositions) throw new RangeError(`sequence of ${T} tokens exceeds n_positions ${nPositions}`);
  const w = model.weights;
  let x = tf.tidy(() => tf.add(tf.reshape(tf.gather(w['wte.weight'], tf.reshape(ids, [-1])), [B, T, C]), tf.gather(w['wpe.weight'], tf.range(0, T, 1, 'int32'))) as tf.Tensor3D);
  for (let l = 0; l < nLayer; l++) {
    const prev = x;
    x = tf.tidy(() => block(prev, l, ctx, null).x);
    prev.dispose();
  }
  const h = tf.tidy(() => layerNorm(x, w['ln_f.weight'], w['ln_f.bias'], eps) as tf.Tensor3D);
  x.dispose();
  return h;
}

/** Tied LM head on flattened hidden states: [N, C] -> logits [N, V]. */
export function logitsOf(model: GPT2, h2d: tf.Tensor2D): tf.Tensor2D {
  const head = model.weights['lm_head.weight'];
  if (head) return matmul(h2d, tf.transpose(head), !isTrainable(head)) as tf.Tensor2D; // untied head [V, C]
  return lmHead(h2d, model.weights['wte.weight'] as tf.Tensor2D, model.wteT ?? undefined);
}

/** Full forward: ids [B, T] -> logits [B, T, V]. */
export function forward(model: GPT2, ids: tf.Tensor2D, opts: ForwardOptions = {}): { logits: tf.Tensor3D; cache: KVCache } {
  const { h, cache } = hidden(model, ids, opts);
  const [B, T, C] = h.shape;
  const logits = logitsOf(model, tf.reshape(h, [B * T, C]));
  return { logits: tf.reshape(logits, [B, T, model.config.vocabSize]), cache };
}
