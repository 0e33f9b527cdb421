/**
 * The oracle, in the spirit of llm.c's test_gpt2.c: values exported from Hugging Face transformers
 * (test/fixtures/gpt2-tiny-golden/golden.json) against our TensorFlow.js GPT-2, for both checkpoint formats,
 * on the wasm backend (all checks) and the cpu backend (forward checks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { buildModel, disposeModel } from '../core/model/params.ts';
import { forward } from '../core/model/gpt2.ts';
import { lmLoss } from '../core/train/loss.ts';
import { AdamW } from '../core/train/adamw.ts';
import { generate } from '../core/sample/generate.ts';

const FIXTURE = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8'));
const config = parseGPT2Config(JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')), 'config.json');

/** A folder holding only one of the two weight files, so readStateDict must use that format. */
function folderWith(weights: 'model.safetensors' | 'pytorch_model.bin'): string {
  const dir = mkdtempSync(join(tmpdir(), 'golden-'));
  for (const f of ['config.json', weights]) copyFileSync(join(FIXTURE, f), join(dir, f));
  return dir;
}

const hfName = (n: string) => `transformer.${n}`;
/** Reductions in float64 on the host: a float32 sum over 262k elements on the device would add its own error. */
const l2 = (t: tf.Tensor) => Math.sqrt((t.dataSync() as Float32Array).reduce((s, v) => s + v * v, 0));
const sum = (t: tf.Tensor) => (t.dataSync() as Float32Array).reduce((s, v) => s + v, 0);

for (const backend of ['wasm', 'cpu'] as const) {
  for (const format of ['model.safetensors', 'pytorch_model.bin'] as const) {
    test(`forward matches Hugging Face (${backend}, ${format})`, async () => {
      await initBackend({ request: backend });
      const model = buildModel(config, await readStateDict(folderWith(format)));
      const before = tf.memory().numTensors;
      const r = tf.tidy(() => {
        const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
        const { logits } = forward(model, ids);
        return {
          lse: tf.logSumExp(logits, -1).arraySync() as number[][],
          argmax: tf.argMax(logits, -1).arraySync(),
          first16: Array.from(tf.slice(logits, [0, 0, 0], [1, 1, 16]).dataSync()),
          loss: lmLoss(model, ids).dataSync()[0],
        };
      });
      const { lse, first16, loss } = r;
      let maxDiff = 0;
      lse.forEach((row, i) => row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - golden.logsumexp[i][j])))));
      assert.ok(maxDiff < 1e-4, `logsumexp max |diff| ${maxDiff}`);
      assert.deepEqual(r.argmax, golden.argmax);
      first16.forEach((v, i) => assert.ok(Math.abs(v - golden.logits_first_row[i]) < 1e-4, `logit ${i}`));
      assert.ok(Math.abs(loss - golden.loss) < 1e-4, `loss ${loss} vs ${golden.loss}`);
      assert.equal(tf.memory().numTensors, before, 'no tensor leak in forward');
      disposeModel(model);
    });
  }
}

for (const format of ['model.safetensors', 'pytorch_model.bin'] as const) {
  test(`gradients and one AdamW step match PyTorch (wasm, ${format})`, async () => {
    await initBackend({ request: 'wasm' });
    const model = buildModel(config, await readStateDict(folderWith(format)), { trainable: true });
    const names = Object.keys(model.weights);
    const params = names.map((n) => model.weights[n] as tf.Variable);
    const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), params);
    assert.ok(Math.abs(value.dataSync()[0] - golden.loss) < 1e-4);
    const g = params.map((p) => grads[p.name]);
    names.forEach((n, i) => {
      const norm = l2(g[i]);
      const ref = golden.grad_l2[hfName(n)];
      assert.ok(Math.abs(norm - ref) / ref < 1e-3, `grad L2 of ${n}: ${norm} vs ${ref}`);
    });
    const a = golden.after_adamw_step;
    const opt = new AdamW(params, { beta1: a.betas[0], beta2: a.betas[1], eps: a.eps, weightDecay: a.weight_decay });
    opt.step(g, a.lr);
    names.forEach((n) => {
      const total = sum(model.weights[n]);
      const ref = a.param_sum[hfName(n)];
      const tol = Math.max(1e-4, 1e-4 * Math.abs(ref));
      assert.ok(Math.abs(total - ref) < tol, `param sum of ${n} after AdamW: ${total} vs ${ref}`);
    });
    tf.dispose([value, ...g]);
    opt.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leak in a training step');
    ids.dispose();
    disposeModel(model);
  });
}

test('greedy generation and repetition penalty 1.3 match Hugging Face (wasm)', async () => {
  await initBackend({ request: 'wasm' });
  const model = buildModel(config, await readStateDict(folderWith('model.safetensors')));
  const before = tf.memory().numTensors;
  const prompt = golden.greedy.prompt_ids as number[];
  const n = golden.greedy.output_ids.length - prompt.length;
  const greedy = await generate(model, prompt, { max_new_tokens: n, do_sample: false, eos_token_id: null });
  assert.deepEqual(greedy.ids, golden.greedy.output_ids);
  const rep = await generate(model, prompt, { max_new_tokens: n, do_sample: false, repetition_penalty: 1.3, eos_token_id: null });
  assert.deepEqual(rep.ids, golden.greedy_rep_penalty_1_3.output_ids);
  assert.equal(tf.memory().numTensors, before, 'no tensor leak in generation');
  disposeModel(model);
});

test('KV-cached decoding equals a full forward pass', async () => {
  await initBackend({ request: 'wasm' });
  const model = buildModel(config, await readStateDict(folderWith('model.safetensors')));
  const ids = golden.input_ids[0] as number[];
  const full = forward(model, tf.tensor2d([ids], undefined, 'int32')).logits;
  const first = forward(model, tf.tensor2d([ids.slice(0, 10)], undefined, 'int32'));
  const rest = forward(model, tf.tensor2d([ids.slice(10)], undefined, 'int32'), { past: first.cache }).logits;
  const a = tf.slice(full, [0, 10, 0], [1, ids.length - 10, config.vocabSize]);
  const diff = tf.max(tf.abs(tf.sub(a, rest))).dataSync()[0];
  assert.ok(diff < 1e-4, `cached vs full logits differ by ${diff}`);
  disposeModel(model);
});

test('config.json with unsupported settings is rejected clearly', () => {
  const base = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
  for (const [k, v] of [['scale_attn_by_inverse_layer_idx', true], ['reorder_and_upcast_attn', true], ['activation_function', 'relu']] as const) {
    assert.throws(() => parseGPT2Config({ ...base, [k]: v }, 'x/config.json'), (e: Error & { code?: string }) => e.code === 'MODEL_UNSUPPORTED' && e.message.includes('x/config.json'));
  }
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, n_embd: 30 }));
  assert.throws(() => parseGPT2Config({ ...base, n_embd: 30 }, 'c'), /múltiplo/);
});
