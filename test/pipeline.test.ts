/**
 * The seed's pipeline through the CLI on the golden tiny model and the real Quijote: train → folder with
 * every file → story --compare; and the trainer's out-of-memory advice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../core/backend.ts';
import { readStateDict } from '../core/model/checkpoint.ts';
import { parseGPT2Config } from '../core/model/config.ts';
import { buildModel } from '../core/model/params.ts';
import { DEFAULT_LORA } from '../core/train/lora.ts';
import { train } from '../core/train/trainer.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURE = join(ROOT, 'test/fixtures/gpt2-tiny-golden');
const SHARED = resolve(ROOT, process.env.QUIJOTE_SHARED ?? '../shared'); // relative to the repository
const BOOK = join(SHARED, 'data/pg2000-don-quijote.txt');

function quijote(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/quijote.js'), ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', QUIJOTE_BACKEND: 'wasm' }, timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('train --json then story --compare --json on the tiny model', { skip: existsSync(BOOK) ? false : `no ${BOOK} (set QUIJOTE_SHARED)` }, () => {
  const cwd = mkdtempSync(join(tmpdir(), 'pipe-'));
  const r = quijote(cwd, ['train', '--model', FIXTURE, '--text', BOOK, '--lines', '40', '--epochs', '2', '--lr', '3e-3', '--json']);
  for (const k of ['lines', 'epochs', 'lr', 'method', 'backend', 'block_size', 'train_blocks', 'eval_blocks', 'optimizer_steps',
    'eval_loss_before', 'eval_loss_after', 'perplexity_before', 'perplexity_after', 'seconds', 'tokens_per_second', 'model_dir']) assert.ok(k in r, k);
  assert.equal(r.lines, 40);
  assert.equal(r.block_size, 64, 'BLOCK_SIZE 128 is clamped to n_positions 64');
  assert.equal(r.method, 'full', 'a tiny model trains fully on wasm');
  assert.ok(r.eval_loss_after < r.eval_loss_before, `${r.eval_loss_before} → ${r.eval_loss_after}`);
  const dir = join(cwd, 'gpt2_es_quijote_minift', 'final');
  assert.equal(r.model_dir, dir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'training_summary.json']) assert.ok(existsSync(join(dir, f)), f);
  const lines = readFileSync(join(cwd, 'gpt2_es_quijote_minift', 'don_quijote_40.txt'), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 40);
  assert.match(lines[0], /^Capítulo primero/);
  const summary = JSON.parse(readFileSync(join(dir, 'training_summary.json'), 'utf8'));
  assert.equal(summary.base_model, FIXTURE);
  assert.equal(summary.loss_curve.length, r.optimizer_steps);
  assert.equal(summary.metrics.eval_loss_after, r.eval_loss_after);

  const s = quijote(cwd, ['story', 'Don Quijote', '--compare', '--max-new-tokens', '30', '--seed', '5', '--json']);
  assert.equal(s.prompt, 'Don Quijote');
  assert.equal(s.base.model, FIXTURE, 'base model read from training_summary.json');
  assert.equal(s.finetuned.model, dir);
  assert.ok(Math.abs(s.base.eval_loss - r.eval_loss_before) < 1e-4);
  assert.ok(Math.abs(s.finetuned.eval_loss - r.eval_loss_after) < 1e-4);
  for (const side of [s.base, s.finetuned]) {
    assert.equal(typeof side.text, 'string');
    assert.equal(typeof side.complete, 'boolean');
    assert.ok(side.newTokens > 0 && side.newTokens <= 30);
  }
});

test('an out-of-memory failure becomes OUT_OF_MEMORY with the seed’s advice', async () => {
  await initBackend({ request: 'wasm' });
  const cfg = parseGPT2Config(JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')), 'c');
  const m = buildModel(cfg, await readStateDict(FIXTURE), { trainable: true });
  await assert.rejects(
    train(m, [[1, 2, 3, 4]], { epochs: 1, lr: 1e-3, batchSize: 1, gradAccum: 1, warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, method: 'full', lora: DEFAULT_LORA }, {
      now: () => 0, slice: async () => { throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'); },
    }),
    (e: Error & { code?: string }) => e.code === 'OUT_OF_MEMORY' && /--train-bs 1/.test(e.message) && /--block-size 64/.test(e.message) && /--method lora/.test(e.message),
  );
});
