import * as tf from '@tensorflow/tfjs-core';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
wasm.setThreadsCount(2);
const t0 = performance.now();
try {
  const ok = await Promise.race([tf.setBackend('wasm'), new Promise((r) => setTimeout(() => r('timeout'), 20000))]);
  console.log('setBackend', ok, (performance.now() - t0).toFixed(0), 'ms');
  console.log('threads', wasm.getThreadsCount());
  const a = tf.randomNormal([256, 768]), b = tf.randomNormal([768, 3072]);
  for (let i = 0; i < 2; i++) tf.matMul(a, b).dataSync();
  const t = performance.now();
  for (let i = 0; i < 5; i++) tf.matMul(a, b).dataSync();
  console.log('256x768x3072', ((performance.now() - t) / 5).toFixed(1), 'ms');
} catch (e) { console.log('error', e); }
process.exit(0);
