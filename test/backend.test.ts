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
