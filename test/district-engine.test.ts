/**
 * Scenario 9 with the real engine and the tiny golden GPT-2: a training on worker 1 (a real `npm run worker`
 * process, wasm backend) publishes the class model to the shared store; worker 2, started afterwards on its own
 * data folder, fetches it through its verified cache and tells the same seeded story as worker 1 did.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBullCompute } from '../bot/compute/bullmq/transport.ts';
import { readManifest } from '../core/modelstore/manifest.ts';
import { RecordingLogger } from './helpers/fake-context.ts';
import { e2eEnv, missingBook } from './helpers/e2e.ts';
import { serverTest, startRedis, type RedisServer } from './helpers/servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];
const children: ChildProcess[] = [];
let redis: RedisServer | null = null;
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) { c.kill('SIGTERM'); await new Promise((r) => c.once('exit', r)); }
  await redis?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const tmp = (p: string) => { const d = fs.mkdtempSync(path.join(os.tmpdir(), p)); dirs.push(d); return d; };

async function worker(env: Record<string, string>): Promise<{ child: ChildProcess; out: () => string; dataDir: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bot/worker.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b) => { out += b; });
  child.stderr!.on('data', (b) => { out += b; });
  for (let i = 0; i < 600 && !/taking jobs from Redis/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`worker exited: ${out}`);
    await sleep(50);
  }
  assert.match(out, /taking jobs from Redis/, out);
  return { child, out: () => out, dataDir: env.DATA_DIR! };
}

const skip = missingBook || serverTest('redis').skip;

test('real engine: trained on worker 1, told by worker 2 from the model store, the same story', { skip, timeout: 180_000 }, async () => {
  redis = await startRedis();
  const shared = tmp('quijote-models-');
  const env = (name: string) => ({ ...e2eEnv(tmp(`quijote-${name}-`), {}), ROLE: 'worker', REDIS_URL: redis!.url, MODEL_STORE: pathToFileURL(shared).href, METHOD: 'lora' });
  const logger = new RecordingLogger();
  const fe = createBullCompute({ url: redis.url, clock: { now: () => Date.now() }, logger, reconcileMs: 500 });
  try {
    const w1 = await worker(env('w1'));
    const place = { platform: 'discord' as const, teamId: 'G', channelId: 'C9' };
    const t0 = Date.now();
    const trained = await fe.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 0.005, outDir: '/srv/data/classes/discord-G-C9/run-1' }, place, owner: { id: 'profe' } }).result;
    const trainS = (Date.now() - t0) / 1000;
    assert.equal(trained.modelDir, pathToFileURL(path.join(shared, 'classes', 'discord-G-C9', 'run-1')).href);
    const published = fileURLToPath(trained.modelDir);
    const files = readManifest(published)?.files.map((f) => f.path) ?? [];
    assert.ok(files.length > 0, 'a manifest lists the published files');
    const story = { kind: 'story' as const, params: { prompt: 'En un lugar de la Mancha', seed: 5, modelDir: trained.modelDir }, place, owner: { id: 'alumno' } };
    const onW1 = await fe.submit(story).result;
    w1.child.kill('SIGTERM');
    await new Promise((r) => w1.child.once('exit', r));

    const w2 = await worker(env('w2'));
    const onW2 = await fe.submit(story).result;
    assert.equal(onW2.tuned.text, onW1.tuned.text, 'same model bytes, same seed: the same story');
    assert.equal(onW2.base.text, onW1.base.text);
    const cache = fs.readdirSync(path.join(w2.dataDir, 'model-cache'));
    assert.equal(cache.length, 1, 'worker 2 fetched the model into its cache');
    assert.deepEqual(readManifest(path.join(w2.dataDir, 'model-cache', cache[0]!))?.files, readManifest(published)?.files);
    logger.info(`train ${trainS}s; published ${files.join(', ')}`);
    process.stdout.write(`# district-engine: training on worker 1 took ${trainS.toFixed(1)} s; published: ${files.join(', ')}\n`);
  } finally {
    await fe.close();
  }
});
