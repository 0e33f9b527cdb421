/**
 * The benchmark harness on the tiny golden model: `bench()` runs real workloads in child processes and
 * writes its JSON report; the CLI prints the same report with --json; the memory checks show no growth of
 * live tensors over 20 generations and 20 optimizer steps. Full benchmarks stay out of `npm test`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../core/backend.ts';
import { QuijoteError } from '../core/errors.ts';
import { loadModelFolder } from '../core/model/load.ts';
import { disposeModel } from '../core/model/params.ts';
import { generationGrowth, trainingGrowth } from '../bench/memory.ts';
import { bench, type BenchContext } from '../bench/run.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TINY = join(REPO, 'test', 'fixtures', 'gpt2-tiny-golden');
const SHARED = resolve(process.env.QUIJOTE_SHARED ?? '../shared');
const ctx = (flags: BenchContext['flags']): BenchContext => ({ config: { sharedDir: SHARED, backend: 'wasm' }, positionals: [], flags });
const quiet = () => {};

test('bench runs training and generation workloads on the tiny model and writes its report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-'));
  const r = await bench(ctx({ only: 'mini-train,mini-generate', steps: '2', model: TINY, out, 'max-new-tokens': '16', seed: '3' }), quiet);
  assert.equal(r.schema, 'quijote-bench/1');
  assert.match(r.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(r.machine.cpu_count >= 1 && r.machine.total_memory_gb > 0 && r.machine.node.startsWith('v'));
  assert.equal(r.backend?.name, 'wasm');
  assert.ok((r.backend?.wasm_threads ?? 0) >= 1);
  assert.deepEqual(r.settings, { steps: 2, seed: 3, new_tokens: 16, batch_size: 2, block_size: 128, webgpu_matmul: 'tiled', iterations: 100, wasm_threads_env: r.settings.wasm_threads_env });
  assert.equal(r.torch, null);
  assert.deepEqual(r.workloads.map((w) => [w.name, w.ok, w.error]), [['mini-train', true, undefined], ['mini-generate', true, undefined]]);

  const train = r.workloads[0].result!;
  assert.equal(train.kind, 'train');
  if (train.kind !== 'train') return;
  assert.equal(train.model, TINY);
  assert.equal(train.method, 'full');
  assert.equal(train.batch_size, 2);
  assert.equal(train.block_size, 64, 'the block is capped at the tiny model\'s 64 positions');
  assert.equal(train.step_ms.length, 2);
  assert.ok(train.step_ms.every((ms) => ms > 0) && train.warmup_ms > 0);
  assert.ok(Math.abs(train.tokens_per_second_best - (2 * 64 * 1000) / Math.min(...train.step_ms)) < 1e-6);
  assert.ok(train.tokens_per_second_median > 0 && train.tokens_per_second_median <= train.tokens_per_second_best);
  assert.equal(train.trainable_params, train.params, 'full fine-tuning trains every weight');
  assert.ok(Number.isFinite(train.final_loss) && train.final_loss > 0);
  assert.ok(train.end.peak_rss_mb >= train.end.rss_mb && train.end.rss_mb > 0);
  assert.ok(train.end.num_tensors > 0 && (train.end.wasm_heap_bytes ?? 0) > 0);

  const gen = r.workloads[1].result!;
  assert.equal(gen.kind, 'generate');
  if (gen.kind !== 'generate') return;
  assert.equal(gen.new_tokens, 16);
  assert.equal(gen.prompt_tokens, 8);
  assert.equal(gen.rounds_tokens_per_second.length, 2);
  assert.equal(gen.tokens_per_second, Math.max(...gen.rounds_tokens_per_second));
  assert.ok(gen.decode_ms > 0 && gen.prompt_ms > 0);

  assert.ok(r.file && existsSync(r.file));
  assert.match(r.file, /\d{4}-\d{2}-\d{2}-.+-wasm\.json$/);
  assert.deepEqual(JSON.parse(readFileSync(r.file, 'utf8')), JSON.parse(JSON.stringify(r)));
});

test('bench rejects an unknown workload with the list of valid ones', async () => {
  await assert.rejects(bench(ctx({ only: 'mini-train,warp-drive' }), quiet), (e: unknown) =>
    e instanceof QuijoteError && e.code === 'BAD_ARGUMENT' && /warp-drive/.test(e.message) && /124m-lora/.test(e.message));
  await assert.rejects(bench(ctx({ steps: '0' }), quiet), (e: unknown) => e instanceof QuijoteError && e.code === 'BAD_ARGUMENT');
});

test('quijote bench --json prints the report and exits 0', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  const r = spawnSync(process.execPath, ['bin/quijote.js', 'bench', '--json', '--only', 'memory-generate', '--out', out, '--backend', 'wasm'], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(report.workloads.length, 1);
  const m = report.workloads[0].result;
  assert.equal(m.kind, 'memory');
  assert.equal(m.iterations, 100);
  assert.equal(m.tensors_delta, 0);
  assert.equal(m.tensors_after, 0);
  assert.ok(existsSync(report.file));
});

test('no growth: live tensors and bytes stay flat over 20 generations and 20 training steps', async () => {
  await initBackend({ request: 'wasm' });
  const frozen = (await loadModelFolder(TINY)).model;
  const g = await generationGrowth(frozen, 20);
  assert.equal(g.iterations, 20);
  assert.equal(g.tensors_delta, 0, 'live tensors after the 1st and the 20th generation');
  assert.equal(g.bytes_delta, 0);
  assert.equal(g.tensors_after, 0, 'generate() leaves no tensor behind');
  assert.equal(g.wasm_heap_delta_mb, 0, 'the wasm heap stops growing once the working set is allocated');
  disposeModel(frozen);

  const trainable = (await loadModelFolder(TINY, { trainable: true })).model;
  const t = await trainingGrowth(trainable, 20);
  assert.equal(t.iterations, 20);
  assert.equal(t.tensors_delta, 0, 'AdamW moments are created at step 1, nothing accumulates afterwards');
  assert.equal(t.bytes_delta, 0);
  assert.equal(t.tensors_after, 0, 'train() disposes its optimizer state and gradients');
  assert.ok(t.samples.length >= 4 && t.samples.every((s) => s.rss_mb > 0));
  disposeModel(trainable);
});

test('class-train runs the /train path through the engine with phases to poll-ready and memory per round', { skip: existsSync(join(SHARED, 'data', 'pg2000-don-quijote.txt')) ? false : `no ${SHARED} (set QUIJOTE_SHARED)` }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-ct-'));
  // The tiny model stands in for the 124M folder (--class-model); BLOCK_SIZE 128 is clamped to its 64 positions.
  const r = await bench(ctx({ only: 'class-train-124m', 'class-model': TINY, rounds: '2', lines: '40', out }), quiet);
  const e = r.workloads[0];
  assert.ok(e.ok, e.error);
  const res = e.result!;
  assert.equal(res.kind, 'class-train');
  if (res.kind !== 'class-train') return;
  assert.deepEqual(res.rounds.map((x) => x.eval_cache), ['cold', 'warm'], 'the second /train reads the base eval loss from the cache');
  for (const x of res.rounds) {
    const s = x.seconds;
    assert.ok(s.load >= 0 && s.train > 0 && s.poll_ready >= s.load + s.eval_before + s.train + s.save - 1e-6, JSON.stringify(s));
    assert.ok(s.total >= s.poll_ready - 1e-6 && s.total >= s.eval_after);
    assert.equal(x.story_tokens.length, 2, 'the poll has two stories');
    assert.ok(x.tokens_per_second > 0 && x.eval_loss_after < x.eval_loss_before);
  }
  assert.equal(res.rounds[0].eval_loss_before, res.rounds[1].eval_loss_before);
  assert.ok(res.growth && res.growth.tensors === 0, `live tensors after round 2 − round 1: ${res.growth?.tensors}`);
});
