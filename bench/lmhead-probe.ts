// LM-head product orders on wasm at the 124M shape: which layout XNNPACK runs fastest (run by hand: node --import tsx bench/lmhead-probe.ts [threads]).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
const threads = Number(process.argv[2] ?? 2);
const info = await initBackend({ request: 'wasm', wasmThreads: threads });
console.log(info.reason);
const N = 254, C = 768, V = 50257;
const h = tf.randomNormal([N, C]) as tf.Tensor2D;
const wte = tf.randomNormal([V, C]) as tf.Tensor2D;
const wteT = tf.transpose(wte) as tf.Tensor2D;
const dy = tf.randomNormal([N, V]) as tf.Tensor2D;
async function best(label: string, f: () => tf.Tensor, n = 4) {
  let b = Infinity;
  for (let i = 0; i < n; i++) { const t = performance.now(); const r = f(); await r.data(); b = Math.min(b, performance.now() - t); r.dispose(); }
  console.log(`${label.padEnd(48)} ${b.toFixed(0).padStart(6)} ms  ${(2 * N * C * V / b / 1e6).toFixed(1)} GFLOPS`);
}
await best('fwd  h·wteT            [254,768]·[768,V]', () => tf.matMul(h, wteT));
await best('fwd  (wte·hT)T         [V,768]·[768,254], T', () => tf.tidy(() => tf.transpose(tf.matMul(wte, tf.transpose(h)))));
await best('fwd  wte·hT (no T)', () => tf.tidy(() => tf.matMul(wte, tf.transpose(h))));
for (const rows of [64, 128]) await best(`fwd  h·wteT in ${rows}-row chunks`, () => tf.tidy(() => tf.concat(Array.from({ length: Math.ceil(N / rows) }, (_, i) => tf.matMul(tf.slice(h, [i * rows, 0], [Math.min(rows, N - i * rows), C]), wteT)))));
for (const cols of [4096, 8192, 16384]) {
  const parts = Array.from({ length: Math.ceil(V / cols) }, (_, i) => tf.slice(wteT, [0, i * cols], [C, Math.min(cols, V - i * cols)]));
  await best(`fwd  h·wteT in ${cols}-col chunks (cached)`, () => tf.tidy(() => tf.concat(parts.map((p) => tf.matMul(h, p)), 1)));
  tf.dispose(parts);
}
await best('bwd  dy·wte            [254,V]·[V,768]', () => tf.matMul(dy, wte));
await best('bwd  (wteT·dyT)T       [768,V]·[V,254], T', () => tf.tidy(() => tf.transpose(tf.matMul(wteT, tf.transpose(dy)))));
