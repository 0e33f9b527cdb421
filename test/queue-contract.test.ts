/**
 * One queue contract, two transports of the job protocol: the in-process transport (what the compute child
 * process speaks) and BullMQ on a real Redis (test/helpers/servers.ts) with a worker in this process. The bot's
 * ComputeClient is the same code on both; so are the engine (FakeEngine with gates) and the tests.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { createBullCompute } from '../bot/compute/bullmq/transport.ts';
import { startBullWorker, type BullWorker } from '../bot/compute/bullmq/worker.ts';
import { checkRedisForQueues, redisConnection } from '../bot/compute/bullmq/redis.ts';
import { PREFIX, QUEUES } from '../bot/compute/bullmq/wire.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import type { ComputeClient } from '../core/jobs/types.ts';
import type { TrainProgress } from '../core/engine.ts';
import { FakeEngine, Gate } from './helpers/fake-engine.ts';
import { RecordingLogger } from './helpers/fake-context.ts';
import { serverTest, startRedis, type RedisServer } from './helpers/servers.ts';

const place = { platform: 'discord', teamId: 'T', channelId: 'C' } as const;
const clock = { now: () => Date.now() };

interface Rig { engine: FakeEngine; gate: Gate; compute: ComputeClient; close(): Promise<void> }
interface Transport { name: string; options: { skip?: string }; rig(steps: number): Promise<Rig> }

let redis: RedisServer | null = null;
after(async () => { await redis?.stop(); });

const local: Transport = {
  name: 'the in-process transport',
  options: {},
  async rig(steps) {
    const gate = new Gate();
    const engine = new FakeEngine({ steps, gate });
    const compute = createLocalCompute(engine, clock);
    return { engine, gate, compute, close: () => compute.close() };
  },
};

let flushed = false;
const bull: Transport = {
  name: 'BullMQ on Redis',
  options: serverTest('redis'),
  async rig(steps) {
    redis ??= await startRedis();
    if (!flushed) { await redis.command('FLUSHALL'); flushed = true; }
    const gate = new Gate();
    const engine = new FakeEngine({ steps, gate });
    const logger = new RecordingLogger();
    const worker: BullWorker = await startBullWorker({ url: redis.url, engine, clock, logger, lockDurationMs: 5000, stalledIntervalMs: 2000 });
    const compute = createBullCompute({ url: redis.url, clock, logger, reconcileMs: 250 });
    return { engine, gate, compute, async close() { await compute.close(); await worker.close(); } };
  },
};

const train = (c: ComputeClient, owner = 'profe') => c.submit({ kind: 'train', params: { lines: 10, epochs: 1, lr: 1e-4, outDir: '/tmp/q/run-1' }, place, owner: { id: owner } });
const story = (c: ComputeClient, owner = 'alumno') => c.submit({ kind: 'story', params: { prompt: 'Érase', seed: 7, modelDir: '/tmp/q/run-1' }, place, owner: { id: owner } });

for (const t of [local, bull]) {
  describe(`queue contract on ${t.name}`, t.options, () => {
    test('a training reports started, every step\'s progress and its result', async () => {
      const r = await t.rig(4);
      try {
        const job = train(r.compute);
        const steps: number[] = [];
        let startedAt = 0;
        job.onStarted((at) => { startedAt = at; });
        job.onProgress((p: TrainProgress) => steps.push(p.step));
        const result = await job.result;
        assert.equal(result.optimizerSteps, 4);
        assert.equal(result.modelDir, '/tmp/q/run-1');
        assert.deepEqual(result.lossCurve.map((p) => p.step), [1, 2, 3, 4]);
        assert.ok(startedAt > 0);
        await sleep(50); // progress events travel apart from the result; the last ones may trail it
        assert.deepEqual([...new Set(steps)].sort((a, b) => a - b).slice(-4), [1, 2, 3, 4]);
        assert.equal(job.info.status, 'done');
        assert.deepEqual(await r.compute.active(), []);
      } finally { await r.close(); }
    });

    test('a story submitted during a training runs between two steps, before the training ends', async () => {
      const r = await t.rig(4);
      try {
        r.gate.hold('train:2');
        const tr = train(r.compute);
        await r.gate.reached('train:2');
        const st = story(r.compute);
        await sleep(100);
        assert.deepEqual(r.engine.events, ['train:1', 'train:2'], 'the story waits for the running step only');
        r.gate.release('train:2');
        const s = await st.result;
        assert.match(s.tuned.text, /Mancha/);
        assert.equal(tr.info.status, 'running', 'the training is still going when the story is back');
        await tr.result;
        assert.deepEqual(r.engine.events, ['train:1', 'train:2', 'story:base', 'story:tuned', 'train:3', 'train:4', 'eval:after']);
      } finally { await r.close(); }
    });

    test('cancelling a running training stops it at the next step; a cancelled queued story never runs', async () => {
      const r = await t.rig(6);
      try {
        r.gate.hold('train:2');
        const tr = train(r.compute);
        await r.gate.reached('train:2'); // step 2 holds the GPU: both stories wait
        const s1 = story(r.compute, 'a');
        const s2 = story(r.compute, 'b');
        await sleep(100);
        assert.equal(await r.compute.cancel(tr.info.id), true);
        assert.equal(await r.compute.cancel(s2.info.id), true);
        await sleep(100); // the cancel reaches the worker before the step ends
        r.gate.release('train:2');
        await assert.rejects(tr.result, (e) => isQuijoteError(e, 'CANCELLED'));
        await assert.rejects(s2.result, (e) => isQuijoteError(e, 'CANCELLED'));
        await s1.result;
        await sleep(300);
        assert.ok(!r.engine.events.includes('train:4'), `stopped: ${r.engine.events.join(' ')}`);
        assert.equal(r.engine.storyCalls.length, 2, 'only s1 ran (base and tuned)');
        assert.equal(r.engine.trainCalls.length, 1, 'not retried');
        assert.equal(await r.compute.cancel(tr.info.id), false, 'a finished job cannot be cancelled again');
      } finally { await r.close(); }
    });

    test('a failure keeps its code and hint across the transport', async () => {
      const r = await t.rig(3);
      try {
        r.engine.failTrainAfter = { steps: 1, error: new QuijoteError('BAD_LINES', 'Too many lines.', { hint: 'Use fewer.' }) };
        const tr = train(r.compute);
        await assert.rejects(tr.result, (e) => isQuijoteError(e, 'BAD_LINES') && e.hint === 'Use fewer.' && /^Too many lines\./.test(e.message));
        assert.equal(r.engine.trainCalls.length, 1, 'a failed job is not retried');
      } finally { await r.close(); }
    });
  });
}

describe('BullMQ specifics', serverTest('redis'), () => {
  test('results come back through the job: a front-end that missed the events still gets the result', async () => {
    redis ??= await startRedis();
    const engine = new FakeEngine({ steps: 2 });
    const logger = new RecordingLogger();
    const worker = await startBullWorker({ url: redis.url, engine, clock, logger });
    // A job queued by a front-end that then went away: it finishes while nobody listens.
    const qConn = redisConnection(redis.url);
    const q = new Queue(QUEUES.gpu, { connection: qConn, prefix: PREFIX });
    const request = { id: 'lost-events-1', kind: 'story', params: { prompt: 'Érase', seed: 1, modelDir: '/m' }, place, owner: { id: 'x' }, createdAt: Date.now() };
    await q.add('story', request, { jobId: request.id });
    for (let i = 0; i < 100 && (await (await q.getJob(request.id))?.getState()) !== 'completed'; i++) await sleep(50);
    // The restarted front-end sends the same request again (same id): it is the same job, already done.
    const compute = createBullCompute({ url: redis.url, clock, logger, reconcileMs: 60_000 });
    try {
      const handle = (compute as unknown as { submit: ComputeClient['submit'] }).submit({ kind: 'story', params: request.params, place, owner: request.owner });
      assert.ok(handle); // a new id: unrelated; now re-send the lost one through the transport itself
      const events: string[] = [];
      compute.transport.onEvent((e) => { if ('jobId' in e && e.jobId === request.id) events.push(e.type); });
      compute.transport.send({ type: 'submit', request: request as never });
      for (let i = 0; i < 100 && !events.includes('result'); i++) await sleep(20);
      assert.deepEqual(events, ['result']);
      assert.equal(engine.storyCalls.length, 4, 'the lost job ran once, the new one once (base + tuned each)');
      await handle.result;
    } finally {
      await compute.close();
      await q.close();
      qConn.disconnect();
      await worker.close();
    }
  });

  test('start-up check: Redis without noeviction or without AOF is refused with what to set', async () => {
    const unsafe = await startRedis(['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no']);
    try {
      await assert.rejects(checkRedisForQueues(unsafe.url), (e) => isQuijoteError(e, 'BAD_CONFIG') && /allkeys-lru/.test(e.message) && /AOF is off/.test(e.message) && /noeviction/.test(e.message));
    } finally { await unsafe.stop(); }
    redis ??= await startRedis();
    assert.match((await checkRedisForQueues(redis.url)).version, /^\d+\./);
    const { freePort } = await import('./helpers/servers.ts');
    await assert.rejects(checkRedisForQueues(`redis://127.0.0.1:${await freePort()}`, 1000), (e) => isQuijoteError(e, 'BAD_CONFIG') && /Cannot reach Redis/.test(e.message));
  });
});
