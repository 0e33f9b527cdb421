/**
 * The `quijote` CLI as a user runs it (a child process): score, tokenize, generate against the golden
 * fixture and the mini Spanish model, and the one-line errors for missing or broken model folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURE = join(ROOT, 'test/fixtures/gpt2-tiny-golden');
const SHARED = resolve(ROOT, process.env.QUIJOTE_SHARED ?? '../shared'); // relative to the repository
const MINI = join(SHARED, 'models/es-novelas-mini');
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8'));

function quijote(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/quijote.js'), ...args, '--backend', 'wasm'], {
    cwd: mkdtempSync(join(tmpdir(), 'cli-')), encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', HF_HOME: join(tmpdir(), 'no-hf-cache'), ...env }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tokenize --json gives the Hugging Face ids', () => {
  for (const { text, ids } of golden.tokenizer.slice(0, 3)) {
    const r = quijote(['tokenize', '--model', FIXTURE, '--json', text]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).ids, ids);
  }
});

test('generate --greedy reproduces Hugging Face greedy ids, with and without repetition penalty', () => {
  const n = String(golden.greedy.output_ids.length - golden.greedy.prompt_ids.length);
  const plain = quijote(['generate', '--model', FIXTURE, '--prompt', 'Don Quijote', '--max-new-tokens', n, '--greedy', '--repetition-penalty', '1', '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout).ids, golden.greedy.output_ids);
  const rep = quijote(['generate', '--model', FIXTURE, '--prompt', 'Don Quijote', '--max-new-tokens', n, '--greedy', '--repetition-penalty', '1.3', '--json']);
  assert.deepEqual(JSON.parse(rep.stdout).ids, golden.greedy_rep_penalty_1_3.output_ids);
});

test('score and generate on the mini Spanish model, offline', { skip: existsSync(MINI) ? false : `no ${MINI} (set QUIJOTE_SHARED)` }, () => {
  const s = quijote(['score', '--model', MINI, '--json', 'En un lugar de la Mancha, de cuyo nombre no quiero acordarme']);
  assert.equal(s.code, 0, s.stderr);
  const r = JSON.parse(s.stdout);
  assert.deepEqual(Object.keys(r).sort(), ['loss', 'perplexity', 'tokens']);
  assert.equal(r.tokens, 16);
  // PyTorch reference (torch_reference.py score) gives 3.8489253520965576 for this text.
  assert.ok(Math.abs(r.loss - 3.8489253520965576) < 1e-4, `loss ${r.loss}`);
  assert.ok(Math.abs(r.perplexity - Math.exp(r.loss)) < 1e-9);
  const g = quijote(['generate', '--model', MINI, '--prompt', 'En un lugar de la Mancha', '--max-new-tokens', '40', '--seed', '3']);
  assert.equal(g.code, 0, g.stderr);
  assert.ok(g.stdout.startsWith('En un lugar de la Mancha'));
  const words = g.stdout.toLowerCase().match(/[a-záéíóúñü]+/g) ?? [];
  const spanish = words.filter((w) => ['de', 'la', 'que', 'el', 'en', 'y', 'a', 'los', 'se', 'no', 'un', 'su', 'con', 'por', 'lo', 'las', 'del', 'le', 'una'].includes(w));
  assert.ok(words.length > 20 && spanish.length >= 5, `Spanish text expected, got: ${g.stdout}`);
});

test('a missing model folder: one line, non-zero exit, no stack trace', () => {
  const r = quijote(['score', '--model', '/nonexistent/model', 'hola']);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('quijote:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /\/nonexistent\/model/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('truncated weights and an uncached Hub id offline: one clear line each', () => {
  const dir = mkdtempSync(join(tmpdir(), 'broken-'));
  for (const f of ['config.json', 'tokenizer.json', 'vocab.json', 'merges.txt']) copyFileSync(join(FIXTURE, f), join(dir, f));
  writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(FIXTURE, 'model.safetensors')).subarray(0, 5000));
  const t = quijote(['score', '--model', dir, 'hola']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /model\.safetensors/);
  assert.doesNotMatch(t.stderr, /\n\s+at /);
  const h = quijote(['score', '--model', 'datificate/gpt2-small-spanish', 'hola']);
  assert.equal(h.code, 1);
  assert.match(h.stderr, /datificate\/gpt2-small-spanish/);
  assert.doesNotMatch(h.stderr, /\n\s+at /);
});

test('bad flags exit 2 with a hint', () => {
  const r = quijote(['train', '--lines', 'abc']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--lines debe ser un entero positivo; recibido: abc/);
});
