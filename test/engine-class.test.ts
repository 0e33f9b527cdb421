/**
 * The engine's class-model path (issue 10) on the tiny golden model and the real Quijote: a LoRA /train saves the
 * adapter only, calls onSaved before the after-training evaluation (which runs in slices), serves story/score/
 * evalLoss from the adapter on the resident base (no second copy of the weights), and caches the base's eval loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GpuSlice } from '../core/engine.ts';
import { createEngine, type EngineSettings } from '../core/pipeline/tfjs-engine.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURE = join(ROOT, 'test/fixtures/gpt2-tiny-golden');
const SHARED = resolve(ROOT, process.env.QUIJOTE_SHARED ?? '../shared');
const BOOK = join(SHARED, 'data/pg2000-don-quijote.txt');

function settings(dataDir: string): EngineSettings {
  return {
    model: FIXTURE, backend: 'wasm', wasmThreads: 2, text: { file: BOOK, url: 'http://127.0.0.1:9/none', startAt: null }, dataDir, hf: { HF_HUB_OFFLINE: '1' },
    ml: {
      nLines: 40, epochs: 1, lr: 3e-3, blockSize: 64, trainBatchSize: 2, gradAccum: 2, maxNewTokens: 12, temperature: 0.9, topK: 50, topP: 0.95,
      repetitionPenalty: 1.1, evalLines: 200, seed: 7, warmupSteps: 0, weightDecay: 0, method: 'lora',
      lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ['c_attn'], lr: 3e-3 },
    },
  };
}

test('LoRA class model: adapter-only folder, onSaved before the sliced evaluation, served on the base, cached base loss', { skip: existsSync(BOOK) ? false : `no ${BOOK} (set QUIJOTE_SHARED)` }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'engine-class-'));
  const engine = createEngine(settings(dataDir), { now: () => performance.now(), date: () => new Date('2026-12-01T12:00:00Z') });
  const events: string[] = [];
  const slice: GpuSlice = async (fn) => { events.push('slice'); return fn(); };
  const out = join(dataDir, 'run-1');
  let savedSummary: { metrics: { eval_loss_after: number | null } } | null = null;
  const r = await engine.finetune({ lines: 40 }, out, {
    slice,
    onSaved: ({ modelDir, evalLossBefore }) => {
      events.push('saved');
      assert.equal(modelDir, out);
      assert.ok(Number.isFinite(evalLossBefore));
      savedSummary = JSON.parse(readFileSync(join(out, 'training_summary.json'), 'utf8'));
    },
  });
  assert.equal(r.method, 'lora');
  assert.equal(savedSummary!.metrics.eval_loss_after, null, 'onSaved comes before the after-training evaluation');
  const evalSlices = Math.ceil(r.evalBlocks / 4);
  assert.ok(evalSlices >= 2, 'the evaluation is long enough to be split');
  assert.deepEqual(events.slice(-evalSlices - 1), ['saved', ...Array(evalSlices).fill('slice')], 'the after-training evaluation runs one slice per 4 blocks, after onSaved');
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_summary.json', 'tokenizer.json']) assert.ok(existsSync(join(out, f)), f);
  assert.ok(!existsSync(join(out, 'model.safetensors')), 'no merged full copy unless asked');
  const summary = JSON.parse(readFileSync(join(out, 'training_summary.json'), 'utf8'));
  assert.equal(summary.metrics.eval_loss_after, r.evalLossAfter);
  assert.equal(summary.format, 'lora-adapter');

  // Served on the resident base: the class model adds the adapter's bytes, not a second copy of the weights.
  const { base } = await engine.ready();
  const baseBytes = Object.values(base.model.weights).reduce((n, w) => n + w.size * 4, 0);
  const bytes0 = tf.memory().numBytes;
  const story = await engine.story('En un lugar de la Mancha', out, { seed: 3 });
  const score = await engine.score('En un lugar de la Mancha, de cuyo nombre no quiero acordarme', out);
  const grown = tf.memory().numBytes - bytes0;
  assert.ok(story.newTokens > 0);
  assert.ok(grown > 0 && grown < baseBytes * 0.1, `class model costs ${grown} bytes against ${baseBytes} for the base`);
  const baseScore = await engine.score('En un lugar de la Mancha, de cuyo nombre no quiero acordarme', null);
  assert.notEqual(score.loss, baseScore.loss, 'the adapter changes the model');

  // The after-training loss comes from the summary; recomputed (another eval key) it is the same number.
  assert.equal(await engine.evalLoss(out), r.evalLossAfter);
  writeFileSync(join(out, 'training_summary.json'), JSON.stringify({ ...summary, eval_key: 'another eval set' }));
  const recomputed = await engine.evalLoss(out);
  assert.ok(Math.abs(recomputed - r.evalLossAfter) < 1e-5, `recomputed ${recomputed} vs ${r.evalLossAfter}`);
  // The base's eval loss was cached in DATA_DIR; a second training reuses it.
  const cache = JSON.parse(readFileSync(join(dataDir, 'eval-loss-cache.json'), 'utf8')) as Record<string, { loss: number }>;
  assert.deepEqual(Object.values(cache).map((e) => e.loss), [r.evalLossBefore]);
  assert.equal(await engine.evalLoss(null), r.evalLossBefore);
  const r2 = await engine.finetune({ lines: 40 }, join(dataDir, 'run-2'), {});
  assert.equal(r2.phases.evalBeforeCached, true);
  assert.equal(r2.evalLossBefore, r.evalLossBefore);
  engine.dispose();
});
