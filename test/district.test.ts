/**
 * A district in miniature, as separate processes: a real Redis, two compute workers (test/helpers/worker-child.ts:
 * the real ROLE=worker code around a FakeEngine whose steps block the CPU like kernels), a shared model store,
 * and two front-ends (BullMQ ComputeClients in this process).
 *  3. SIGKILL of the worker at step 5 of a training: the other worker takes it over and finishes it; one result.
 *  4. While both workers train, a story is answered before either training ends.
 *  5. A training started through front-end 1 and cancelled through front-end 2 stops and is not retried.
 *  8. A front-end starting during a training (its reconciler) leaves that run alone; a run with no job is interrupted.
 *  9. A model trained on one worker serves a story on the other, through the model store.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Queue } from 'bullmq';
import { createBullCompute } from '../bot/compute/bullmq/transport.ts';
import { redisConnection } from '../bot/compute/bullmq/redis.ts';
import { PREFIX, QUEUES } from '../bot/compute/bullmq/wire.ts';
import { isQuijoteError } from '../core/errors.ts';
import { reconcileRuns } from '../core/jobs/reconciler.ts';
import { runModelDir } from '../core/store/paths.ts';
import { openStore } from '../core/store/store.ts';
import { readManifest } from '../core/modelstore/manifest.ts';
import { RecordingLogger } from './helpers/fake-context.ts';
import { serverTest, startRedis, type RedisServer } from './helpers/servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CHILD = path.join(ROOT, 'test/helpers/worker-child.ts');
const STEPS = 10;
const clock = { now: () => Date.now() };

interface WorkerProc { name: string; child: ChildProcess; lines: Array<Record<string, any>>; dataDir: string }

describe('district: two workers and two front-ends on Redis', { ...serverTest('redis'), timeout: 120_000 }, () => {
  let redis: RedisServer;
  let shared: string;
  const tmp: string[] = [];
  const workers = new Map<string, WorkerProc>();
  const logger = new RecordingLogger();
  let fe1: ReturnType<typeof createBullCompute>;
  let fe2: ReturnType<typeof createBullCompute>;
  let qConn: ReturnType<typeof redisConnection>;
  let trainQueue: Queue;

  const placeOf = (c: string) => ({ platform: 'discord' as const, teamId: 'G', channelId: c });
  const outDir = (c: string, run: number) => path.join('/srv/quijote/data/classes', `discord-G-${c}`, `run-${run}`);

  async function startWorker(name: string): Promise<WorkerProc> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `quijote-${name}-`));
    tmp.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env, ROLE: 'worker', REDIS_URL: redis.url, MODEL_STORE: pathToFileURL(shared).href, DATA_DIR: dataDir,
        WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', FAKE_STEPS: String(STEPS), FAKE_STEP_MS: '150',
        DISCORD_TOKEN: '', SLACK_BOT_TOKEN: '',
      },
    });
    const w: WorkerProc = { name, child, lines: [], dataDir };
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try { w.lines.push(JSON.parse(line)); } catch { /* not ours */ }
      }
    });
    workers.set(name, w);
    await until(() => w.lines.some((l) => l.event === 'ready'), `${name} ready`, 30_000);
    return w;
  }

  async function until<T>(fn: () => T | undefined | false | null, what: string, ms = 20_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; workers said:\n${[...workers.values()].map((w) => `${w.name}: ${w.lines.slice(-6).map((l) => JSON.stringify(l)).join(' ')}`).join('\n')}`);
      await sleep(20);
    }
  }
  const events = (w: WorkerProc, e: string) => w.lines.filter((l) => l.event === e);
  const holding = (dir: string) => [...workers.values()].filter((w) => w.child.exitCode === null && w.child.signalCode === null && events(w, 'train-start').some((l) => l.outDir.endsWith(dir.split('/').slice(-2).join('/'))));

  before(async () => {
    redis = await startRedis();
    shared = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-models-'));
    tmp.push(shared);
    await Promise.all([startWorker('w1'), startWorker('w2')]);
    fe1 = createBullCompute({ url: redis.url, clock, logger, reconcileMs: 300 });
    fe2 = createBullCompute({ url: redis.url, clock, logger, reconcileMs: 300 });
    qConn = redisConnection(redis.url);
    trainQueue = new Queue(QUEUES.train, { connection: qConn, prefix: PREFIX });
  });

  after(async () => {
    await fe1?.close();
    await fe2?.close();
    await trainQueue?.close();
    qConn?.disconnect();
    for (const w of workers.values()) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all([...workers.values()].map((w) => (w.child.exitCode !== null || w.child.signalCode !== null ? null : new Promise((r) => w.child.once('exit', r)))));
    await redis?.stop();
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  });

  test('3 + 9: SIGKILL at step 5, the other worker finishes the training once; its model serves a story on the other worker', async () => {
    const dir = outDir('C3', 1);
    const job = fe1.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: dir }, place: placeOf('C3'), owner: { id: 'profe' } });
    const results: string[] = [];
    fe1.transport.onEvent((e) => { if (e.type === 'result' || e.type === 'failed') results.push(`${e.type}:${e.jobId}`); });
    const [victim] = await until(() => (holding(dir).length ? holding(dir) : null), 'a worker starting the training');
    await until(() => events(victim!, 'step').some((l) => l.n === 5), 'step 5');
    victim!.child.kill('SIGKILL');
    const killedAt = Date.now();
    const result = await job.result;
    const survivor = [...workers.values()].find((w) => w !== victim)!;
    assert.equal(events(survivor, 'train-done').length, 1, 'the other worker finished it');
    assert.equal(events(survivor, 'step').filter((l) => l.n === STEPS).length, 1);
    assert.equal(result.optimizerSteps, STEPS);
    assert.equal(result.modelDir, pathToFileURL(path.join(shared, 'classes', 'discord-G-C3', 'run-1')).href, 'published to the model store');
    const manifest = readManifest(path.join(shared, 'classes', 'discord-G-C3', 'run-1'));
    assert.deepEqual(manifest?.files.map((f) => f.path), ['adapter_config.json', 'adapter_model.safetensors'], 'adapter-only folder');
    await sleep(1000);
    assert.deepEqual(results, [`result:${job.info.id}`], 'one result, no failure');
    const state = await (await Job.fromId(trainQueue, job.info.id))!.getState();
    assert.equal(state, 'completed');
    logger.info(`takeover: ${Date.now() - killedAt} ms from SIGKILL to the result`);

    // 9: the class's story on the worker that did not train it... which is the survivor; bring the victim's
    // replacement up and ask it (only it is free of cache): the adapter comes from the store.
    workers.delete(victim!.name);
    const fresh = await startWorker('w3');
    survivor.child.kill('SIGTERM');
    await new Promise((r) => survivor.child.once('exit', r));
    workers.delete(survivor.name);
    const st = await fe2.submit({ kind: 'story', params: { prompt: 'Érase', seed: 3, modelDir: result.modelDir }, place: placeOf('C3'), owner: { id: 'alumno' } }).result;
    assert.match(st.tuned.text, /Mancha/);
    const seen = events(fresh, 'story').find((l) => l.modelDir);
    assert.ok(seen, 'the fresh worker served the story');
    assert.ok(seen.modelDir.startsWith(path.join(fresh.dataDir, 'model-cache')), `read from its verified cache: ${seen.modelDir}`);
    assert.equal(JSON.parse(seen.adapter).by, survivor.child.pid, 'the adapter the other worker trained');
    await startWorker('w4'); // two workers again for what follows
  });

  test('4: while both workers train, a story is answered before either training ends', async () => {
    const t1 = fe1.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: outDir('C4a', 1) }, place: placeOf('C4a'), owner: { id: 'p1' } });
    const t2 = fe2.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: outDir('C4b', 1) }, place: placeOf('C4b'), owner: { id: 'p2' } });
    await until(() => holding(outDir('C4a', 1)).length && holding(outDir('C4b', 1)).length, 'both trainings running');
    const a = holding(outDir('C4a', 1))[0]!;
    const b = holding(outDir('C4b', 1))[0]!;
    assert.notEqual(a, b, 'one training per worker');
    let trainingsDone = 0;
    void t1.result.then(() => trainingsDone++);
    void t2.result.then(() => trainingsDone++);
    const story = await fe2.submit({ kind: 'story', params: { prompt: 'Érase', seed: 1, modelDir: pathToFileURL(path.join(shared, 'classes', 'discord-G-C3', 'run-1')).href }, place: placeOf('C3'), owner: { id: 'alumna' } }).result;
    assert.match(story.base.text, /robot/);
    assert.equal(trainingsDone, 0, 'the story came back while both trainings were still running');
    await Promise.all([t1.result, t2.result]);
  });

  test('5: a training started through front-end 1 and cancelled through front-end 2 stops and is not retried', async () => {
    const dir = outDir('C5', 1);
    const job = fe1.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: dir }, place: placeOf('C5'), owner: { id: 'profe' } });
    const [w] = await until(() => (holding(dir).length ? holding(dir) : null), 'the training started');
    const stepsBefore = () => w!.lines.filter((l) => l.event === 'step').length;
    await until(() => events(w!, 'step').length >= 2, 'two steps');
    fe2.transport.send({ type: 'cancel', jobId: job.info.id }); // front-end 2 does not hold the job: the queue reaches the worker
    await assert.rejects(job.result, (e) => isQuijoteError(e, 'CANCELLED'));
    const stepsAtCancel = stepsBefore();
    await sleep(2500); // longer than a lock: a retry or a take-over would have started by now
    assert.ok(stepsBefore() - stepsAtCancel <= 1, 'at most the step in flight');
    assert.equal([...workers.values()].flatMap((x) => events(x, 'train-start')).filter((l) => l.outDir.includes('discord-G-C5')).length, 1, 'never started again');
    const j = await Job.fromId(trainQueue, job.info.id);
    assert.equal(await j!.getState(), 'failed');
    assert.equal(j!.attemptsMade, 1);
  });

  test('8: a third front-end starting during a training leaves that run alone; a run without a job is interrupted', async () => {
    const store = openStore({ dataDir: ':memory:', clock });
    try {
      const live = store.ensureClass(placeOf('C8'));
      const stale = store.ensureClass(placeOf('C8s'));
      const run = store.createRun({ classId: live.id, params: { lines: 20, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
      store.markRunRunning(run.id);
      const orphan = store.createRun({ classId: stale.id, params: { lines: 20, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
      store.markRunRunning(orphan.id); // its front-end died before queueing the job
      const dir = runModelDir('/srv/quijote/data', placeOf('C8'), run.id);
      const job = fe1.submit({ kind: 'train', params: { lines: 20, epochs: 1, lr: 1e-4, outDir: dir }, place: placeOf('C8'), owner: { id: 'p' } });
      await until(() => holding(dir).length, 'the training started');
      const fe3 = createBullCompute({ url: redis.url, clock, logger, reconcileMs: 300 }); // the third front-end
      try {
        const later = { now: () => Date.now() + 5 * 60_000 }; // both runs are past the grace period
        const found = await reconcileRuns({
          unfinishedRuns: () => store.unfinishedRuns(), getClass: (id) => store.getClass(id),
          interrupt: (id, error) => store.endRun(id, 'interrupted', error), liveRunKeys: () => fe3.transport.liveRunKeys(), clock: later,
        });
        assert.deepEqual(found.map((f) => f.run.id), [orphan.id]);
        assert.equal(store.getRun(run.id)?.status, 'running', 'the live run is left alone');
        assert.equal(store.getRun(orphan.id)?.status, 'interrupted');
        const young = await reconcileRuns({
          unfinishedRuns: () => store.unfinishedRuns(), getClass: (id) => store.getClass(id),
          interrupt: (id, error) => store.endRun(id, 'interrupted', error), liveRunKeys: async () => new Set<string>(), clock,
        });
        assert.deepEqual(young, [], 'inside the grace period nothing is touched, even without a job');
      } finally {
        await fe3.close();
      }
      await job.result;
    } finally {
      store.close();
    }
  });
});
