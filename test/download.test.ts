/**
 * `quijote download` against the fake Hugging Face Hub (test/helpers/fake-hub.ts) and a loopback server for the
 * book: progress, resume of a cut download, idempotence (nothing fetched twice), and offline use once done.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeHub, type FakeHub } from './helpers/fake-hub.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const GOLDEN = join(ROOT, 'test/fixtures/gpt2-tiny-golden');
const SHARED = resolve(ROOT, process.env.QUIJOTE_SHARED ?? '../shared');
const SHA = 'c0ffee0000000000000000000000000000000015';

/** The real book when ../shared has it, otherwise a short text with Gutenberg's markers. */
const BOOK = existsSync(join(SHARED, 'data/pg2000-don-quijote.txt'))
  ? readFileSync(join(SHARED, 'data/pg2000-don-quijote.txt'))
  : Buffer.from('*** START OF THE PROJECT GUTENBERG EBOOK 2000 ***\nCapítulo primero\n' + 'En un lugar de la Mancha.\n'.repeat(400) + '*** END OF THE PROJECT GUTENBERG EBOOK 2000 ***\n');

let hub: FakeHub;
let book: Server;
let bookUrl: string;
let bookRequests = 0;
let home: string;

before(async () => {
  const files: Record<string, Uint8Array> = {};
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) files[f] = readFileSync(join(GOLDEN, f));
  hub = await startFakeHub({ 'org/tiny': { sha: SHA, files, lfs: ['model.safetensors'] } });
  book = createServer((req, res) => {
    bookRequests++;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(BOOK.length) });
    res.end(BOOK);
  });
  await new Promise<void>((ok) => book.listen(0, '127.0.0.1', ok));
  bookUrl = `http://127.0.0.1:${(book.address() as AddressInfo).port}/cache/epub/2000/pg2000.txt`;
  home = mkdtempSync(join(tmpdir(), 'quijote-download-'));
});

after(async () => {
  await hub.close();
  book.closeAllConnections();
  await new Promise<void>((ok) => book.close(() => ok()));
  rmSync(home, { recursive: true, force: true });
});

/** Runs the CLI asynchronously (the fake servers live in this process). */
function quijote(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin/quijote.js'), ...args], {
      cwd: home, timeout: 120_000,
      env: { ...process.env, HF_HOME: join(home, 'hf'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '', QUIJOTE_MODEL: 'org/tiny', GUTENBERG_URL: bookUrl, DATA_DIR: join(home, 'data'), QUIJOTE_TEXT: '', ...env },
    }, (error, stdout, stderr) => done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const snapshot = () => join(home, 'hf', 'hub', 'models--org--tiny', 'snapshots', SHA);

test('download fetches the model into the HF cache and the book into DATA_DIR, resuming a cut transfer', async () => {
  // an earlier download was interrupted after 20 000 bytes of the weights (the Hub code keeps <blob>.incomplete)
  const weights = readFileSync(join(GOLDEN, 'model.safetensors'));
  const blobs = join(home, 'hf', 'hub', 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${createHash('sha256').update(weights).digest('hex')}.incomplete`), weights.subarray(0, 20_000));
  // and this one is cut once more, mid-way
  hub.cuts.push({ file: 'model.safetensors', afterBytes: 10_000, times: 1 });
  hub.requests.length = 0;
  const r = await quijote(['download']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`modelo org/tiny: listo en ${snapshot().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\([\\d.]+ [kM]B\\)\\.`));
  assert.match(r.stdout, /libro: listo en .*data\/gutenberg\/pg2000-[0-9a-f]{8}\.txt \(\d+\.\d [kM]B, \d+ líneas\)\./);
  assert.deepEqual(readdirSync(snapshot()).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  assert.ok(readFileSync(join(snapshot(), 'model.safetensors')).equals(weights), 'the weights arrive whole');
  // the interrupted transfer was resumed with a Range request, not started again, and so was the cut one
  const cdn = hub.requests.filter((q) => q.url.startsWith('/cdn/') && q.method === 'GET');
  assert.ok(cdn.length >= 2, JSON.stringify(hub.requests));
  assert.equal(cdn[0].range, 'bytes=20000-');
  for (const q of cdn.slice(1)) assert.ok(Number(/^bytes=(\d+)-$/.exec(q.range ?? '')?.[1]) >= 20_000, `resumed, not restarted: ${q.range}`);
  // progress on stderr: not a TTY here, so plain lines with the file name, a bar and the size
  const lines = r.stderr.split('\n').filter((l) => l.includes('model.safetensors'));
  assert.ok(lines.length >= 1, r.stderr);
  assert.match(lines.at(-1)!, /^█+ model\.safetensors 100 % · [\d.]+ [kM]B \/ [\d.]+ [kM]B · /);
  assert.ok(!r.stderr.includes('\r'), 'no carriage returns off a TTY');
  assert.equal(bookRequests, 1);
});

test('download again: nothing is fetched twice; then offline, it still succeeds and the model is usable', async () => {
  hub.requests.length = 0;
  const again = await quijote(['download', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const report = JSON.parse(again.stdout);
  assert.equal(report.model.dir, snapshot());
  assert.equal(report.text.url, bookUrl);
  assert.ok(report.text.lines > 10);
  assert.deepEqual(hub.requests.map((q) => q.method), ['GET'], 'only the file list: no file downloaded again');
  assert.match(hub.requests[0].url, /^\/api\/models\/org\/tiny\/revision\/main$/);
  assert.equal(bookRequests, 1, 'the book is read from DATA_DIR');

  // offline: HF_HUB_OFFLINE, and the book URL unreachable
  const offline = await quijote(['download'], { HF_HUB_OFFLINE: '1', GUTENBERG_URL: bookUrl.replace(/:\d+\//, ':9/') });
  assert.notEqual(offline.code, 0, 'another URL is another cache file: it must be fetched');
  const offlineSame = await quijote(['download'], { HF_HUB_OFFLINE: '1' });
  assert.equal(offlineSame.code, 0, offlineSame.stderr);
  assert.match(offlineSame.stdout, /modelo org\/tiny: listo en/);
  hub.requests.length = 0;
  const score = await quijote(['score', '--json', '--backend', 'wasm', 'hola mundo'], { HF_HUB_OFFLINE: '1' });
  assert.equal(score.code, 0, score.stderr);
  assert.ok(JSON.parse(score.stdout).tokens > 0);
  assert.equal(hub.requests.length, 0, 'offline means no request at all');
  assert.equal(bookRequests, 1);
});

test('download --model ID fetches only that model; --text only the book', async () => {
  const fresh = { HF_HOME: join(home, 'hf2'), DATA_DIR: join(home, 'data2') };
  const before = bookRequests;
  const m = await quijote(['download', '--model', 'org/tiny'], fresh);
  assert.equal(m.code, 0, m.stderr);
  assert.doesNotMatch(m.stdout, /libro/);
  assert.equal(bookRequests, before);
  hub.requests.length = 0;
  const t = await quijote(['download', '--text'], fresh);
  assert.equal(t.code, 0, t.stderr);
  assert.doesNotMatch(t.stdout, /modelo/);
  assert.equal(hub.requests.length, 0);
  assert.equal(bookRequests, before + 1);
  const missing = await quijote(['download', '--model', 'org/nothere'], fresh);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^quijote: «org\/nothere» no es una carpeta local y no existe en/);
});
