/**
 * A first `npm start` downloads the base model inside the compute process: the bot logs the same progress as
 * `quijote download` (in its language) and /status shows it until the engine is ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createProcessCompute } from '../bot/compute/process-transport.ts';
import { downloadReporting, downloadStatusLine, formatBytes } from '../bot/download-status.ts';
import { createComputeClient, type ComputeTransport } from '../core/jobs/client.ts';
import { parseComputeEvent, type ComputeEvent } from '../core/jobs/protocol.ts';
import { startFakeHub } from './helpers/fake-hub.ts';
import { ManualClock, RecordingLogger } from './helpers/fake-context.ts';

const GOLDEN = new URL('./fixtures/gpt2-tiny-golden/', import.meta.url).pathname;
const p = (bytes: number, total: number | null = 510_300_000) => ({ file: 'model.safetensors', bytes, total, bytesPerSecond: 12_100_000 });

test('download lines in both languages; the log gets one every 5 s and each completed file', () => {
  assert.equal(formatBytes('es', 45_200_000), '45,2 MB');
  assert.equal(formatBytes('en', 45_200_000), '45.2 MB');
  assert.match(downloadStatusLine('es', p(229_635_000)), /^⬇️ Descargando el modelo base: model\.safetensors 45\s%.*\(229,6 MB de 510,3 MB\)/);
  assert.match(downloadStatusLine('en', p(229_635_000)), /^⬇️ Downloading the base model: model\.safetensors 45%.*\(229\.6 MB of 510\.3 MB\)/);
  const clock = new ManualClock();
  const logger = new RecordingLogger();
  const r = downloadReporting('es', logger, clock);
  for (let i = 0; i <= 100; i++) { r.onDownload(p(i * 5_103_000)); clock.advance(100); }
  assert.deepEqual(logger.lines.map((l) => /(\d+)\s%/.exec(l)?.[1]), ['0', '50', '100'], logger.lines.join('\n'));
  assert.match(logger.lines[2], /Descargando el modelo base: model\.safetensors 100\s% \(510,3 MB de 510,3 MB, 12,1 MB\/s\)\./);
  r.onDownload({ file: 'tokenizer.json', bytes: 10, total: 2000, bytesPerSecond: 1 });
  assert.equal(logger.lines.length, 4, 'a new file is logged at once');
});

test('/status shows the download while it lasts (ComputeClient.describe), then the engine', () => {
  let emit: (e: ComputeEvent) => void = () => {};
  const transport: ComputeTransport = { send() {}, onEvent: (l) => { emit = l; }, onDown() {}, onUp() {}, close: async () => {} };
  const client = createComputeClient({ transport, clock: new ManualClock(), describe: '(arrancando) auto · org/tiny', downloadStatus: (x) => downloadStatusLine('es', x) });
  assert.equal(client.describe(), '(arrancando) auto · org/tiny');
  emit(parseComputeEvent({ type: 'download', progress: p(100_000_000) }));
  assert.match(client.describe(), /^⬇️ Descargando el modelo base: model\.safetensors 20\s% .* \(arrancando\) auto · org\/tiny$/);
  emit({ type: 'ready', engine: 'wasm · org/tiny' });
  assert.equal(client.describe(), 'wasm · org/tiny');
  assert.throws(() => parseComputeEvent({ type: 'download', progress: { file: 'x', bytes: 'many' } }), /download/);
});

test('the real compute process downloads the Hub model on its first start and reports it', async () => {
  const files: Record<string, Uint8Array> = {};
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) files[f] = readFileSync(join(GOLDEN, f));
  const hub = await startFakeHub({ 'org/tiny': { sha: 'c0ffee00000000000000000000000000000000aa', files, lfs: ['model.safetensors'] } });
  const home = mkdtempSync(join(tmpdir(), 'quijote-first-start-'));
  const logger = new RecordingLogger();
  const clock = { now: () => Date.now() };
  const c = createProcessCompute({
    env: { PATH: process.env.PATH, HOME: home, HF_HOME: join(home, 'hf'), HF_ENDPOINT: hub.endpoint, QUIJOTE_MODEL: 'org/tiny', QUIJOTE_BACKEND: 'wasm', WASM_THREADS: '1', LOCALE: 'en', DATA_DIR: join(home, 'data') },
    logger, clock, describe: '(starting) wasm · org/tiny', stderr: () => {}, ...downloadReporting('en', logger, clock),
  });
  try {
    const end = Date.now() + 60_000;
    while (c.describe().startsWith('(') || c.describe().startsWith('⬇️')) {
      if (Date.now() > end) assert.fail(`compute never became ready: ${c.describe()}\n${logger.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(c.describe(), /^wasm · org\/tiny$/);
    const done = logger.lines.filter((l) => /Downloading the base model: model\.safetensors 100%/.test(l));
    assert.equal(done.length, 1, logger.lines.join('\n'));
    assert.ok(hub.requests.some((q) => q.url.startsWith('/cdn/')), 'the weights came from the Hub');
  } finally {
    await c.close();
    await hub.close();
    rmSync(home, { recursive: true, force: true });
  }
});
