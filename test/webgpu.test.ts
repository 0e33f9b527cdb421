/**
 * WebGPU: the oracle checks on the GPU where Dawn finds an adapter; skipped, saying why, where none exists
 * (Dawn refuses CPU-only Vulkan, so CPU machines have no adapter). Also the backend chooser's fallbacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { buildModel } from '../core/model/params.ts';
import { forward } from '../core/model/gpt2.ts';
import { lmLoss } from '../core/train/loss.ts';
import { generate } from '../core/sample/generate.ts';

const FIXTURE = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8'));

let why: string | null = null;
const logs: string[] = [];
try {
  await initBackend({ request: 'webgpu', log: (l) => logs.push(l), libraryPath: process.env.LD_LIBRARY_PATH });
} catch (e) {
  why = (e as Error).message;
}

test('an unavailable WebGPU is a clear BACKEND_UNAVAILABLE that points to wasm', { skip: why === null ? 'this machine has a WebGPU adapter' : false }, () => {
  assert.match(why!, /webgpu/);
  assert.match(why!, /--backend wasm/);
});

test('WebGPU: forward, loss, gradients and greedy decoding match Hugging Face', { skip: why ?? false }, async () => {
  assert.equal(tf.getBackend(), 'webgpu');
  const config = parseGPT2Config(JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')), 'config.json');
  const model = buildModel(config, await readStateDict(FIXTURE), { trainable: true });
  const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
  // WebGPU in Node has no synchronous read-back (dataSync needs OffscreenCanvas): every read is awaited.
  const lseT = tf.tidy(() => tf.logSumExp(forward(model, ids).logits, -1));
  const lse = (await lseT.array()) as number[][];
  lseT.dispose();
  lse.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - golden.logsumexp[i][j]) < 1e-4)));
  const params = Object.values(model.weights) as tf.Variable[];
  const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), params);
  assert.ok(Math.abs((await value.data())[0] - golden.loss) < 1e-4);
  for (const [i, n] of Object.keys(model.weights).entries()) {
    const sq = tf.tidy(() => tf.sum(tf.square(grads[params[i].name])));
    const norm = Math.sqrt((await sq.data())[0]);
    sq.dispose();
    const ref = golden.grad_l2[`transformer.${n}`];
    assert.ok(Math.abs(norm - ref) / ref < 1e-3, `${n}: ${norm} vs ${ref}`);
  }
  const frozen = buildModel(config, await readStateDict(FIXTURE));
  const n = golden.greedy.output_ids.length - golden.greedy.prompt_ids.length;
  const g = await generate(frozen, golden.greedy.prompt_ids, { max_new_tokens: n, do_sample: false, eos_token_id: null });
  assert.deepEqual(g.ids, golden.greedy.output_ids);
});
