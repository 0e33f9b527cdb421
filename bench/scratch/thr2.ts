import * as tf from '@tensorflow/tfjs-core';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { useThreadedWasm } from '../wasm-threads.ts';
const n = Number(process.argv[2] ?? 2);
if (n > 0) await useThreadedWasm(n);
const t0 = performance.now();
const ok = await Promise.race([tf.setBackend('wasm'), new Promise((r) => setTimeout(() => r('timeout'), 20000))]);
console.log('setBackend', ok, (performance.now() - t0).toFixed(0), 'ms', 'threads', wasm.getThreadsCount());
for (const [M, K, N] of [[256, 768, 3072], [256, 384, 1536], [1, 768, 3072], [1, 768, 50257]]) {
  const a = tf.randomNormal([M, K]), b = tf.randomNormal([K, N]);
  for (let i = 0; i < 2; i++) tf.matMul(a, b).dataSync();
  const R = M === 1 ? 50 : 10;
  const t = performance.now();
  for (let i = 0; i < R; i++) { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); }
  const ms = (performance.now() - t) / R;
  console.log(`${M}x${K}x${N}: ${ms.toFixed(2)} ms ${(2 * M * K * N / ms / 1e6).toFixed(1)} GFLOPS`);
}
process.exit(0);
