import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../core/backend.ts';
const b = await initBackend({ request: (process.argv[2] as any) ?? 'wasm' });
console.log(b);
for (const [M, K, N] of [[256, 768, 3072], [256, 384, 1536], [1, 768, 3072], [1, 768, 50257]]) {
  const a = tf.randomNormal([M, K]), w = tf.randomNormal([K, N]);
  for (const [ta, tb] of [[false, false], [false, true]] as const) {
    const bb = tb ? tf.transpose(w) : w;
    for (let i = 0; i < 2; i++) tf.matMul(a, bb, ta, tb).dataSync();
    const R = M === 1 ? 50 : 5;
    const t = performance.now();
    for (let i = 0; i < R; i++) { const c = tf.matMul(a, bb, ta, tb); c.dataSync(); c.dispose(); }
    const ms = (performance.now() - t) / R;
    console.log(`${M}x${K}x${N} tb=${tb}: ${ms.toFixed(2)} ms ${(2 * M * K * N / ms / 1e6).toFixed(1)} GFLOPS`);
  }
}
