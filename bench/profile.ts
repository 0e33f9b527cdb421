/**
 * Where the time goes. Not part of `npm test` nor of `quijote bench`; run by hand:
 *
 *   node --import tsx bench/profile.ts [--model DIR|124m] [--method full|lora] [--backend wasm|cpu|webgpu] [--top 25]
 *        [--threads N] [--batch 2] [--matmul tiled|tfjs] [--skip train,profile-train,decode,matmul]
 *
 * Prints (1) one training step split into forward / forward+backward / clip / AdamW, (2) tf.profile kernel
 * times of a forward+backward pass aggregated by kernel and by (kernel, shapes), with the time outside
 * kernels (per-op overhead), (3) the same for one KV-cached decode step, (4) matmul microbenchmarks at the
 * model's shapes, plain against transposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { initBackend, type BackendRequest } from '../core/backend.ts';
import { GPT2_124M } from '../core/model/config.ts';
import * as coreModel from '../core/model/gpt2.ts';
import type { GPT2, KVCache, LoraSet } from '../core/model/gpt2.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { disposeModel, randomModel } from '../core/model/params.ts';
import { AdamW, clipGradNorm } from '../core/train/adamw.ts';
import { createLora, disposeLora, loraVariables } from '../core/train/lora.ts';
import * as coreLoss from '../core/train/loss.ts';
import { randomBlocks } from './workloads.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: resolve(process.env.QUIJOTE_SHARED ?? '../shared', 'models/es-novelas-mini') },
    method: { type: 'string', default: 'full' }, backend: { type: 'string', default: 'wasm' }, top: { type: 'string', default: '25' },
    skip: { type: 'string', default: '' }, impl: { type: 'string', default: 'core' }, threads: { type: 'string', default: '0' },
    identity: { type: 'boolean', default: false }, batch: { type: 'string', default: '2' }, matmul: { type: 'string', default: 'tiled' },
  },
});
const { hidden, logitsOf } = coreModel;
const { lmLoss } = coreLoss;
const skip = new Set(a.skip!.split(',').filter(Boolean));
const TOP = Number(a.top);
const B = Number(a.batch), T = 128;

const now = () => performance.now();
const fmt = (ms: number) => ms.toFixed(1).padStart(8);

async function timeBest(n: number, f: () => void | Promise<void>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) { const t = now(); await f(); best = Math.min(best, now() - t); }
  return best;
}

interface Row { name: string; ms: number; n: number }
function table(title: string, rows: Row[], total: number): void {
  console.log(`\n${title}`);
  for (const r of rows.slice(0, TOP)) console.log(`${fmt(r.ms)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)}%  ×${String(r.n).padEnd(5)} ${r.name}`);
}

/** tf.profile of `f`, aggregated by kernel name and by (kernel, input shapes). */
async function profileKernels(label: string, f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const t0 = now();
  const info = await tf.profile(() => f());
  const wall = now() - t0;
  const byName = new Map<string, Row>(), byShape = new Map<string, Row>();
  let sum = 0;
  let scopes = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    // customGrad wrappers ("forward", "unnamed scope") are timed around the kernels they run: not summed.
    if (!tf.getKernel(k.name, tf.getBackend())) { scopes++; continue; }
    sum += ms;
    const add = (m: Map<string, Row>, key: string) => { const r = m.get(key) ?? { name: key, ms: 0, n: 0 }; r.ms += ms; r.n++; m.set(key, r); };
    add(byName, k.name);
    add(byShape, `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}`);
  }
  const sort = (m: Map<string, Row>) => [...m.values()].sort((x, y) => y.ms - x.ms);
  console.log(`\n=== ${label}: ${info.kernels.length - scopes} kernels, kernel time ${sum.toFixed(1)} ms, wall (profiling on) ${wall.toFixed(1)} ms`);
  table('by kernel:', sort(byName), sum);
  table('by kernel and input shapes:', sort(byShape), sum);
  tf.dispose(info.result);
}

async function trainPhases(model: GPT2, lora: LoraSet | null): Promise<void> {
  const params = lora ? loraVariables(lora) : (Object.values(model.weights) as tf.Variable[]);
  const x = tf.tensor2d(randomBlocks(B, T, model.config.vocabSize, 1), undefined, 'int32');
  let seed = 1;
  const opts = { training: true, lora, nextSeed: () => seed++ };
  const opt = new AdamW(params, { weightDecay: 0.01 });
  const fwd = await timeBest(3, async () => { const l = tf.tidy(() => lmLoss(model, x, opts)); await l.data(); l.dispose(); });
  let grads: tf.Tensor[] = [];
  const fb = await timeBest(3, async () => {
    grads.forEach((g) => g.dispose());
    const r = tf.variableGrads(() => lmLoss(model, x, opts), params);
    await r.value.data(); r.value.dispose();
    grads = params.map((p) => r.grads[p.name]);
  });
  let clipped: tf.Tensor[] = grads;
  const clip = await timeBest(1, async () => { const c = clipGradNorm(grads, 1.0); await c.norm.data(); c.norm.dispose(); clipped = c.clipped; });
  const step = await timeBest(3, async () => { opt.step(clipped, 1e-4); await params[0].data(); });
  clipped.forEach((g) => g.dispose());
  opt.dispose();
  console.log(`\n=== one training step (B=${B}, T=${T}, ${lora ? 'LoRA' : 'full'}), best of 3`);
  console.log(`forward (loss)          ${fmt(fwd)} ms`);
  console.log(`forward + backward      ${fmt(fb)} ms  (backward ≈ ${fmt(fb - fwd)} ms)`);
  console.log(`clip grad norm          ${fmt(clip)} ms`);
  console.log(`AdamW step              ${fmt(step)} ms`);
  console.log(`total                   ${fmt(fb + clip + step)} ms → ${((B * T) / ((fb + clip + step) / 1000)).toFixed(0)} tok/s`);
  if (!skip.has('profile-train')) await profileKernels('forward + backward, tf.profile', () => {
    const r = tf.variableGrads(() => lmLoss(model, x, opts), params);
    return [r.value, ...Object.values(r.grads)];
  });
  x.dispose();
}

async function decodeProfile(model: GPT2): Promise<void> {
  // A cache of 8 + 80 positions, then one more token: a decode step mid-generation.
  const prefill = tf.tidy(() => hidden(model, tf.tensor2d([Array.from({ length: 88 }, (_, i) => (i % 50) + 1)], undefined, 'int32')).cache.flatMap((c) => [c.k, c.v]));
  const cache: KVCache = [];
  for (let i = 0; i < prefill.length; i += 2) cache.push({ k: prefill[i] as tf.Tensor4D, v: prefill[i + 1] as tf.Tensor4D });
  const stepFn = () => {
    const { h, cache: c } = hidden(model, tf.tensor2d([[7]], [1, 1], 'int32'), { past: cache });
    const logits = logitsOf(model, tf.reshape(h, [1, model.config.nEmbd]) as tf.Tensor2D);
    return [logits, ...c.flatMap((l) => [l.k, l.v])];
  };
  const wall = await timeBest(5, async () => { const r = tf.tidy(stepFn); await r[0].data(); r.forEach((t) => t.dispose()); });
  console.log(`\n=== one decode step with a cache of 88 positions: ${wall.toFixed(2)} ms → ${(1000 / wall).toFixed(1)} tok/s`);
  await profileKernels('decode step, tf.profile', () => tf.tidy(stepFn));
  prefill.forEach((t) => t.dispose());
}

async function matmuls(model: GPT2): Promise<void> {
  const { nEmbd: C, nInner: F, vocabSize: V } = model.config;
  const N = B * T;
  const shapes: Array<[string, number, number, number]> = [
    ['c_attn fwd', N, C, 3 * C], ['c_fc fwd', N, C, F], ['c_proj(mlp) fwd', N, F, C], ['lm head fwd', N - 2, C, V],
    ['decode c_fc', 1, C, F], ['decode lm head', 1, C, V],
  ];
  console.log('\n=== matmul microbenchmarks (ms, best of 3): plain | A·Bᵀ (transposeB) | Aᵀ·B (transposeA) | explicit transpose + plain');
  for (const [label, M, K, Nn] of shapes) {
    const x = tf.randomNormal([M, K]), w = tf.randomNormal([K, Nn]);
    const wT = tf.transpose(w), xT = tf.transpose(x);
    const run = (f: () => tf.Tensor) => timeBest(3, async () => { const c = f(); await c.data(); c.dispose(); });
    const plain = await run(() => tf.matMul(x, w));
    const tb = await run(() => tf.matMul(x, wT, false, true));
    const ta = await run(() => tf.matMul(xT, w, true, false));
    const expl = await run(() => tf.tidy(() => tf.matMul(x, tf.transpose(wT))));
    const gf = (ms: number) => `${fmt(ms)} (${((2 * M * K * Nn) / ms / 1e6).toFixed(1)} GFLOPS)`;
    console.log(`${label.padEnd(16)} ${M}×${K}×${Nn}: ${gf(plain)} | ${gf(tb)} | ${gf(ta)} | ${gf(expl)}`);
    tf.dispose([x, w, wT, xT]);
  }
}

const info = await initBackend({
  request: a.backend as BackendRequest, webgpuTiledMatmul: a.matmul !== 'tfjs', wasmThreads: Number(a.threads) || undefined,
});
console.log(`backend ${info.name} (${info.reason}) ${info.detail ?? ''}, impl ${a.impl}${a.identity ? ' + shared Identity' : ''}, threads ${a.threads}`);
const is124 = a.model === '124m';
const lora = a.method === 'lora';
const load = async (trainable: boolean) => (is124 ? await randomModel(GPT2_124M, { trainable, seed: 0 }) : (await loadModelFolder(a.model!, { trainable })).model);
if (!skip.has('train')) {
  const model = await load(!lora);
  const set = lora ? createLora(model, { rank: 8, alpha: 16, dropout: 0.05, targets: ['c_attn'] }, 0) : null;
  await trainPhases(model, set);
  if (set) disposeLora(set);
  disposeModel(model);
}
const frozen = await load(false); // generation runs on frozen weights (cached wteᵀ)
if (!skip.has('decode')) await decodeProfile(frozen);
if (!skip.has('matmul')) await matmuls(frozen);
process.exit(0);
