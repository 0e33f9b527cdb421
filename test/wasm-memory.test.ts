/**
 * Two resident models on wasm (issue 10): evaluation used to hold every layer's activations and the whole
 * [N, vocab] logits (plus one-hot and log-softmax copies) until the end of one tidy — ~2.3 GB at 8 × 128 on
 * the 124M — which with a second full model pushed the 4 GiB wasm heap to its ceiling, where the allocator hangs.
 * These checks are deterministic (tensor bytes, not time) and run on the mini model in a few seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
import { guardWasmHeap, WASM_HEAP_BUDGET } from '../core/kernels/wasm-heap.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { disposeModel } from '../core/model/params.ts';
import { evaluateLoss, lmLoss, LOSS_ROWS_PER_CHUNK } from '../core/train/loss.ts';
import { QuijoteError } from '../core/errors.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const SHARED = resolve(ROOT, process.env.QUIJOTE_SHARED ?? '../shared');
const MINI = join(SHARED, 'models/es-novelas-mini');

function blocks(n: number, T: number, V: number): number[][] {
  let s = 12345;
  const next = () => { s = (s * 1103515245 + 12345) % 2 ** 31; return s % V; };
  return Array.from({ length: n }, () => Array.from({ length: T }, next));
}

/** Tensor bytes a computation needs on top of what is already resident (tf.profile's peak − start). */
async function workingSet(f: () => Promise<unknown> | tf.Tensor): Promise<number> {
  const start = tf.memory().numBytes;
  let out: unknown;
  const info = await tf.profile(async () => { out = await f(); return out instanceof tf.Tensor ? out : []; });
  if (out instanceof tf.Tensor) out.dispose();
  return info.peakBytes - start;
}

test('evaluation keeps a bounded working set with two models resident, and matches the one-graph loss', { skip: existsSync(MINI) ? false : `no ${MINI} (set QUIJOTE_SHARED)` }, async () => {
  await initBackend({ request: 'wasm', wasmThreads: 2 });
  const a = await loadModelFolder(MINI), b = await loadModelFolder(MINI); // a base and a full class model
  const { vocabSize: V, nEmbd: C } = a.model.config;
  const data = blocks(8, 128, V);
  const ids = tf.tensor2d(data, undefined, 'int32');
  const oneGraph = await workingSet(() => tf.tidy(() => lmLoss(b.model, ids)));
  const expected = tf.tidy(() => lmLoss(b.model, ids).dataSync()[0]);
  let got = NaN;
  const bounded = await workingSet(async () => { got = await evaluateLoss(b.model, data, { batchSize: 8 }); return []; });
  ids.dispose();
  const chunkLogits = LOSS_ROWS_PER_CHUNK * V * 4;
  assert.ok(Math.abs(got - expected) < 1e-5, `bounded loss ${got} vs one-graph ${expected}`);
  // The logits chunk and a few of its reductions, plus one block's activations: never the whole graph.
  assert.ok(bounded < 4 * chunkLogits + 40 * 8 * 128 * C * 4, `evaluation working set ${(bounded / 2 ** 20).toFixed(1)} MB`);
  assert.ok(bounded * 3 < oneGraph, `bounded ${(bounded / 2 ** 20).toFixed(1)} MB vs one graph ${(oneGraph / 2 ** 20).toFixed(1)} MB`);
  disposeModel(a.model); disposeModel(b.model);
});

test('a wasm allocation past the heap budget fails with OUT_OF_MEMORY and leaves the backend usable', async () => {
  await initBackend({ request: 'wasm', wasmThreads: 2 });
  const wasm = (tf.backend() as unknown as { wasm: Parameters<typeof guardWasmHeap>[0] }).wasm;
  const probe = wasm._malloc(16);
  wasm._free(probe);
  const before = tf.memory().numTensors;
  guardWasmHeap(wasm, probe + 64 * 2 ** 20); // 64 MB above where the allocator is now
  try {
    assert.throws(() => tf.tidy(() => tf.add(tf.ones([2 ** 25]), 1)), (e: unknown) => e instanceof QuijoteError && e.code === 'OUT_OF_MEMORY' && /--method lora/.test(e.message));
  } finally {
    guardWasmHeap(wasm, WASM_HEAP_BUDGET);
  }
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');
  const s = tf.tidy(() => tf.sum(tf.add(tf.ones([1000]), 1)).dataSync()[0]);
  assert.equal(s, 2000);
});
