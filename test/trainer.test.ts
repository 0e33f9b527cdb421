/**
 * The training recipe on the golden tiny model: accumulation, clipping, schedule, cancellation, LoRA, and an
 * integration run whose saved folder reloads to identical logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { forward, type GPT2 } from '../core/model/gpt2.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { buildModel, disposeModel } from '../core/model/params.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { clipGradNorm } from '../core/train/adamw.ts';
import { DEFAULT_LORA, createLora, disposeLora, loadAdapter } from '../core/train/lora.ts';
import { evaluateLoss } from '../core/train/loss.ts';
import { saveFineTuned } from '../core/train/save.ts';
import { train, type TrainConfig } from '../core/train/trainer.ts';
import { parseSafetensors } from '../core/model/safetensors.ts';
import type { TrainProgress } from '../core/engine.ts';

const FIXTURE = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8'));
const configJson = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));

async function tinyModel(trainable: boolean, dropout = 0): Promise<GPT2> {
  const cfg = { ...parseGPT2Config(configJson, 'config.json'), attnPdrop: dropout, residPdrop: dropout, embdPdrop: dropout };
  return buildModel(cfg, await readStateDict(FIXTURE), { trainable });
}

/** Deterministic pseudo-text blocks of length T from the golden ids. */
function blocks(n: number, T = 16): number[][] {
  const ids = golden.input_ids.flat() as number[];
  return Array.from({ length: n }, (_, i) => Array.from({ length: T }, (_, j) => ids[(i * 5 + j * 3) % ids.length]));
}

const base: TrainConfig = {
  epochs: 1, lr: 1e-3, batchSize: 4, gradAccum: 1, warmupSteps: 0, weightDecay: 0, maxGradNorm: 1e9, seed: 1, method: 'full', lora: DEFAULT_LORA,
};
const now = () => performance.now();
const snapshot = (m: GPT2) => Object.fromEntries(Object.entries(m.weights).map(([k, w]) => [k, Array.from(w.dataSync())]));

test('gradient accumulation: batch 4 × 1 equals batch 2 × accumulation 2 (one step, no dropout)', async () => {
  await initBackend({ request: 'wasm' });
  const data = blocks(4);
  const a = await tinyModel(true), b = await tinyModel(true);
  // Shuffling is seeded identically, and one step sees all four blocks either way.
  const ra = await train(a, data, { ...base, batchSize: 4, gradAccum: 1 }, { now });
  const rb = await train(b, data, { ...base, batchSize: 2, gradAccum: 2 }, { now });
  assert.equal(ra.optimizerSteps, 1);
  assert.equal(rb.optimizerSteps, 1);
  const sa = snapshot(a), sb = snapshot(b);
  let maxDiff = 0;
  for (const k of Object.keys(sa)) sa[k].forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - sb[k][i]))));
  assert.ok(maxDiff < 2e-6, `parameters differ by ${maxDiff}`);
  disposeModel(a); disposeModel(b);
});

test('a last partial accumulation still steps; the schedule decays linearly to 0', async () => {
  await initBackend({ request: 'wasm' });
  const m = await tinyModel(true);
  const events: TrainProgress[] = [];
  // 5 blocks, batch 1, accumulation 2 → micro-batches 2+2+1 → 3 optimizer steps per epoch; 2 epochs → 6.
  const r = await train(m, blocks(5), { ...base, epochs: 2, batchSize: 1, gradAccum: 2, lr: 6e-4 }, { now, onProgress: (p) => events.push(p) });
  assert.equal(r.optimizerSteps, 6);
  assert.equal(r.tokensSeen, 2 * 5 * 16);
  const steps = events.filter((e) => e.step > 0);
  assert.deepEqual(steps.map((e) => e.step), [1, 2, 3, 4, 5, 6]);
  steps.forEach((e, i) => assert.ok(Math.abs(e.learningRate - 6e-4 * (1 - i / 6)) < 1e-12, `lr at step ${i}`));
  assert.equal(steps.at(-1)!.totalSteps, 6);
  assert.equal(steps.at(-1)!.epoch, 2);
  disposeModel(m);
});

test('clipGradNorm scales to the max norm and leaves small gradients alone', async () => {
  await initBackend({ request: 'wasm' });
  const g = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])]; // global norm 5
  const { norm, clipped } = clipGradNorm(g, 1);
  assert.ok(Math.abs((await norm.data())[0] - 5) < 1e-6);
  assert.ok(g.every((t) => t.isDisposed), 'input grads are disposed');
  const after = Math.hypot(...clipped.flatMap((t) => Array.from(t.dataSync())));
  assert.ok(Math.abs(after - 1) < 1e-5, `clipped norm ${after}`);
  const small = [tf.tensor1d([0.3, 0.4])];
  const r2 = clipGradNorm(small, 1);
  assert.deepEqual(Array.from(await r2.clipped[0].data()), [Math.fround(0.3), Math.fround(0.4)], 'below the max norm: unchanged');
  tf.dispose([...clipped, ...r2.clipped, norm, r2.norm]);
});

test('cancellation stops at the next step boundary with CANCELLED and leaks nothing', async () => {
  await initBackend({ request: 'wasm' });
  const m = await tinyModel(true);
  const before = tf.memory().numTensors;
  const ctl = new AbortController();
  let seen = 0;
  await assert.rejects(
    train(m, blocks(8), { ...base, batchSize: 1, gradAccum: 1, epochs: 3 }, { now, signal: ctl.signal, onProgress: (p) => { if (p.step === 2) ctl.abort(); seen = p.step; } }),
    (e: Error & { code?: string }) => e.code === 'CANCELLED',
  );
  assert.equal(seen, 2);
  assert.equal(tf.memory().numTensors, before);
  disposeModel(m);
});

test('full fine-tuning lowers the loss; the saved folder reloads to identical logits; no leaks', async () => {
  await initBackend({ request: 'wasm' });
  const data = blocks(8);
  const m = await tinyModel(true, 0.1);
  const lossBefore = await evaluateLoss(m, data);
  const tensorsBefore = tf.memory().numTensors;
  const r = await train(m, data, { ...base, epochs: 4, batchSize: 2, gradAccum: 1, lr: 3e-3, maxGradNorm: 1 }, { now });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'training leaks no tensors');
  const lossAfter = await evaluateLoss(m, data);
  assert.ok(lossAfter < lossBefore - 0.1, `loss ${lossBefore} → ${lossAfter}`);
  assert.ok(r.lossCurve.length === 16 && r.lossCurve.every((p) => Number.isFinite(p.loss)));
  const out = mkdtempSync(join(tmpdir(), 'ft-'));
  // the folder held an earlier LoRA run (another base): its adapter must not survive, loaders prefer it
  writeFileSync(join(out, 'adapter_config.json'), '{"r": 8}');
  writeFileSync(join(out, 'adapter_model.safetensors'), 'stale');
  await saveFineTuned({ outDir: out, model: m, lora: null, baseDir: FIXTURE, baseModelName: 'tiny', configJson, generationConfig: { do_sample: true }, summary: { ok: true } });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.json', 'merges.txt', 'generation_config.json', 'training_summary.json']) assert.ok(existsSync(join(out, f)), f);
  for (const f of ['adapter_config.json', 'adapter_model.safetensors']) assert.ok(!existsSync(join(out, f)), `stale ${f} removed`);
  // Hugging Face names with the transformer. prefix, Conv1D [in, out] layout.
  const header = parseSafetensors(readFileSync(join(out, 'model.safetensors')), 'saved');
  assert.deepEqual(header.get('transformer.h.0.attn.c_attn.weight')!.shape, [32, 96]);
  const reloaded = await loadModelFolder(out);
  const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(m, ids).logits, forward(reloaded.model, ids).logits))).dataSync()[0]);
  assert.equal(diff, 0, 'reloaded logits are identical');
  ids.dispose(); disposeModel(m); disposeModel(reloaded.model);
});

test('LoRA: starts at the base model, trains only adapters, saves the PEFT adapter (merged copy on request) that reloads onto the base', async () => {
  await initBackend({ request: 'wasm' });
  const m = await tinyModel(false);
  const ids = tf.tensor2d(golden.input_ids, undefined, 'int32');
  const baseLogits = tf.tidy(() => forward(m, ids).logits.dataSync().slice());
  const fresh = createLora(m, DEFAULT_LORA, 3);
  const same = tf.tidy(() => forward(m, ids, { lora: fresh }).logits.dataSync());
  assert.deepEqual(Array.from(same), Array.from(baseLogits), 'B = 0: the adapter starts as a no-op');
  for (const p of Object.values(fresh)) { p.A.dispose(); p.B.dispose(); }
  const baseWeights = snapshot(m);
  const data = blocks(8);
  const lossBefore = await evaluateLoss(m, data);
  const r = await train(m, data, { ...base, method: 'lora', epochs: 4, batchSize: 2, lr: 1e-2, maxGradNorm: 1, lora: { ...DEFAULT_LORA, dropout: 0 } }, { now });
  assert.ok(r.lora);
  assert.deepEqual(snapshot(m), baseWeights, 'base weights stay frozen');
  const lossAfter = await evaluateLoss(m, data, { lora: r.lora });
  assert.ok(lossAfter < lossBefore - 0.05, `LoRA loss ${lossBefore} → ${lossAfter}`);
  assert.equal(Object.keys(r.lora!).length, 2, 'c_attn of both layers');
  const out = mkdtempSync(join(tmpdir(), 'lora-'));
  await saveFineTuned({ outDir: out, model: m, lora: r.lora, loraOptions: DEFAULT_LORA, baseDir: FIXTURE, baseModelName: 'tiny', configJson, generationConfig: {}, summary: {} });
  assert.ok(!existsSync(join(out, 'model.safetensors')) && !existsSync(join(out, 'config.json')), 'by default a LoRA folder is the adapter only');
  const back = await loadAdapter(out, m);
  const viaAdapter = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(m, ids, { lora: r.lora }).logits, forward(m, ids, { lora: back.lora }).logits))).dataSync()[0]);
  assert.equal(viaAdapter, 0, 'the saved adapter applied to the base gives the trained logits exactly');
  disposeLora(back.lora);
  await saveFineTuned({ outDir: out, model: m, lora: r.lora, loraOptions: DEFAULT_LORA, baseDir: FIXTURE, baseModelName: 'tiny', configJson, generationConfig: {}, summary: {}, mergedCopy: true });
  const adapter = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(adapter.peft_type, 'LORA');
  assert.equal(adapter.r, 8);
  const tensors = parseSafetensors(readFileSync(join(out, 'adapter_model.safetensors')), 'adapter');
  assert.deepEqual(tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!.shape, [8, 32]);
  assert.deepEqual(tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape, [96, 8]);
  const merged = await loadModelFolder(out);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(m, ids, { lora: r.lora }).logits, forward(merged.model, ids).logits))).dataSync()[0]);
  assert.ok(diff < 1e-5, `merged weights reproduce base + adapter (max diff ${diff})`);
  ids.dispose(); disposeModel(m); disposeModel(merged.model);
  for (const p of Object.values(r.lora!)) { p.A.dispose(); p.B.dispose(); }
});
