/** The backend chooser: `auto` takes the fastest available and logs once why; wasm gets the kernels training needs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, currentBackend } from '../core/backend.ts';

test('auto picks a backend, says why once, and is idempotent', async () => {
  const logs: string[] = [];
  const info = await initBackend({ request: 'auto', log: (l) => logs.push(l), libraryPath: process.env.LD_LIBRARY_PATH });
  assert.ok(['tensorflow', 'webgpu', 'wasm', 'cpu'].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  assert.equal(logs.length, 1);
  assert.match(logs[0], new RegExp(`^backend: ${info.name} \\(`));
  if (info.name === 'wasm') assert.match(logs[0], /descartados: tensorflow: .*; webgpu: /, 'says why the faster ones were skipped');
  await initBackend({ request: 'auto', log: (l) => logs.push(l) });
  assert.equal(logs.length, 1, 'logged once');
  assert.equal(currentBackend(), info);
});

test('wasm: UnsortedSegmentSum (the gradient of gather) is registered and correct', async () => {
  await initBackend({ request: 'wasm' });
  const w = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]));
  const ids = tf.tensor1d([2, 0, 2], 'int32');
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(w, ids), tf.tensor2d([[1, 10], [100, 1000], [2, 20]]))) as tf.Scalar, [w]);
  assert.deepEqual(grads[w.name].arraySync(), [[100, 1000], [0, 0], [3, 30]]);
});

test('the WebGPU tiled matmul takes float32 products with ≥128 tiles of 128×128 and a matching or broadcast batch', async () => {
  const { tiledMatmulApplies, MIN_TILES } = await import('../core/kernels/webgpu-matmul.ts');
  assert.equal(MIN_TILES, 128);
  assert.ok(tiledMatmulApplies(2048, 2304, 768, 1, 1, 'float32')); // c_attn at batch 16: 16 × 18 tiles
  assert.ok(tiledMatmulApplies(256, 50257, 768, 1, 1, 'float32')); // the LM head at batch 2: 2 × 393
  assert.ok(!tiledMatmulApplies(256, 2304, 768, 1, 1, 'float32')); // c_attn at batch 2: 36 tiles, tfjs' kernel
  assert.ok(tiledMatmulApplies(128, 128, 64, 192, 192, 'float32')); // attention at batch 16: 192 slices
  assert.ok(tiledMatmulApplies(128, 128, 64, 192, 1, 'float32')); // broadcast
  assert.ok(!tiledMatmulApplies(128, 128, 64, 6, 4, 'float32')); // batches that do not broadcast
  assert.ok(!tiledMatmulApplies(1, 50257, 768, 1, 1, 'float32')); // decoding: M = 1
  assert.ok(!tiledMatmulApplies(2048, 2304, 768, 1, 1, 'int32'));
});

test('wasm: Unpack copies each slice once and gives what slicing gives (float32 and int32, axis 0; other axes as before)', async () => {
  await initBackend({ request: 'wasm' });
  const x = tf.tensor3d(Float32Array.from({ length: 4 * 3 * 5 }, (_, i) => i * 0.5 - 7), [4, 3, 5]);
  const parts = tf.unstack(x);
  assert.equal(parts.length, 4);
  parts.forEach((p, i) => {
    assert.deepEqual(p.shape, [3, 5]);
    assert.deepEqual(p.arraySync(), tf.squeeze(tf.slice(x, [i, 0, 0], [1, 3, 5]), [0]).arraySync());
  });
  const ids = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
  assert.deepEqual(tf.unstack(ids).map((t) => [t.dtype, t.arraySync()]), [['int32', [1, 2, 3]], ['int32', [4, 5, 6]]]);
  assert.deepEqual(tf.unstack(x, 1).map((t) => t.arraySync()), [0, 1, 2].map((j) => tf.squeeze(tf.slice(x, [0, j, 0], [4, 1, 5]), [1]).arraySync()));
  // tfjs' own Unpack read the whole input out of the heap once per slice (readSync copies): ours never does
  const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown };
  const readSync = backend.readSync;
  let reads = 0;
  backend.readSync = (...a: unknown[]) => { reads++; return readSync.apply(backend, a); };
  try { tf.dispose(tf.unstack(x)); } finally { backend.readSync = readSync; }
  assert.equal(reads, 0, 'no copy of the whole input per slice');
  // the slices are copies: disposing the input leaves them intact
  const kept = parts[3].arraySync();
  x.dispose();
  assert.deepEqual(parts[3].arraySync(), kept);
  // and the gradient of unstack (stack) still flows
  const v = tf.variable(tf.ones([2, 2]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.unstack(v)[1], tf.tensor1d([3, 4]))) as tf.Scalar, [v]);
  assert.deepEqual(grads[v.name].arraySync(), [[0, 0], [3, 4]]);
});
