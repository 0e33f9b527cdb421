/**
 * The job protocol's second transport (the first is the compute child process): BullMQ on Redis, so that compute
 * runs on any number of worker machines (bot/compute/bullmq/worker.ts). The bot's ComputeClient
 * (core/jobs/client.ts) is unchanged; this file turns its commands into BullMQ jobs and BullMQ's events back into
 * the protocol's events.
 *
 * - submit: a job on the `train` or `gpu` queue whose BullMQ id is the request id (a re-sent request is the
 *   same job); attempts 1 (a failure is the class's to see, not retried); a worker's death is BullMQ's stall
 *   detection: the job goes back to the queue and another worker takes it over, finishing it once.
 * - cancel: a key and a pub/sub message that reach whichever worker holds the job (it stops at the next step and
 *   fails with UnrecoverableError, never retried); a job still waiting is removed from the queue.
 * - results come back through the job itself, not only through the event stream: a periodic reconcile reads the
 *   state of every job this front-end awaits, so an event lost while it was disconnected loses nothing.
 * Redis blips are not "compute down": the jobs go on in the workers, so onDown is never called.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../commands/types.ts';
import { createComputeClient, type ComputeTransport } from '../../../core/jobs/client.ts';
import { infoOf, parseComputeEvent, type ComputeCommand, type ComputeEvent, type JobInfo, type JobKind, type JobRequest, type JobResultByKind } from '../../../core/jobs/protocol.ts';
import type { ComputeClient, QueuedJobOutcome } from '../../../core/jobs/types.ts';
import type { TrainProgress } from '../../../core/engine.ts';
import type { Clock } from '../../../core/store/types.ts';
import { modelKeyOf } from '../../../core/modelstore/engine.ts';
import { describeRedisUrl, redisConnection } from './redis.ts';
import { CANCEL_CHANNEL, CANCEL_TTL_S, cancelKey, outcomeOf, PREFIX, QUEUES, queueOf, type QueueName } from './wire.ts';

export interface BullTransportOptions {
  url: string;
  clock: Clock;
  logger: Logger;
  /** How often the state of awaited jobs is read from Redis (default 5000 ms). */
  reconcileMs?: number;
}

export interface BullTransport extends ComputeTransport {
  /** Reads the state of every awaited job now and delivers what finished (also runs periodically). */
  reconcile(): Promise<void>;
  /** Model keys of the train jobs alive in the queue (waiting, running, or finished in the last `recentMs`). */
  liveRunKeys(recentMs?: number): Promise<Set<string>>;
  /** Any job's outcome as the queue keeps it, whichever front-end submitted it (result deliveries take-over). */
  jobOutcome(jobId: string): Promise<QueuedJobOutcome>;
  /** The progress of any job, whichever front-end submitted it (a front-end that took over its delivery). */
  followProgress(jobId: string, listener: (progress: TrainProgress) => void): () => void;
}

const WAITING_STATES = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

export function createBullTransport(o: BullTransportOptions): BullTransport {
  const conn: Redis = redisConnection(o.url);
  conn.on('error', (e) => o.logger.warn(`queue: redis: ${e.message}`));
  const queues: Record<QueueName, Queue> = {
    train: new Queue(QUEUES.train, { connection: conn, prefix: PREFIX }),
    gpu: new Queue(QUEUES.gpu, { connection: conn, prefix: PREFIX }),
  };
  const eventConns: Redis[] = [];
  const streams: QueueEvents[] = [];
  /** Submissions wait until both event streams listen, so no job's first events are missed. */
  const ready: Array<Promise<void>> = [];
  const listeners: Array<(e: ComputeEvent) => void> = [];
  /** Jobs this front-end submitted and still awaits → their queue. */
  const awaited = new Map<string, QueueName>();
  const startedSent = new Set<string>();
  const followers = new Map<string, Set<(p: TrainProgress) => void>>();
  let closed = false;

  const emit = (event: ComputeEvent) => {
    if (closed) return;
    const parsed = parseComputeEvent(JSON.parse(JSON.stringify(event)));
    for (const l of listeners) l(parsed);
  };
  /** The job's end, delivered once whichever path (event stream or reconcile) sees it first. */
  const finish = (jobId: string, event: ComputeEvent) => {
    if (!awaited.delete(jobId)) return;
    startedSent.delete(jobId);
    emit(event);
  };
  const finishFailed = (jobId: string, failedReason: string | undefined) => {
    const outcome = outcomeOf(failedReason);
    const at = o.clock.now();
    finish(jobId, outcome.cancelled ? { type: 'cancelled', jobId, at } : { type: 'failed', jobId, at, error: outcome.error });
  };
  const started = (jobId: string) => {
    if (!awaited.has(jobId) || startedSent.has(jobId)) return;
    startedSent.add(jobId);
    emit({ type: 'started', jobId, at: o.clock.now() });
  };
  const parseReturn = (v: unknown): JobResultByKind[JobKind] => (typeof v === 'string' ? JSON.parse(v) : v) as JobResultByKind[JobKind];

  for (const name of [QUEUES.train, QUEUES.gpu]) {
    const c = redisConnection(o.url);
    c.on('error', () => undefined); // the main connection reports Redis trouble
    eventConns.push(c);
    const ev = new QueueEvents(name, { connection: c, prefix: PREFIX });
    streams.push(ev);
    ready.push(ev.waitUntilReady().then(() => undefined));
    ev.on('active', ({ jobId }) => started(jobId));
    ev.on('progress', ({ jobId, data }) => {
      if (typeof data !== 'object' || data === null) return;
      if (awaited.has(jobId)) emit({ type: 'progress', jobId, progress: data as never });
      for (const l of followers.get(jobId) ?? []) l(data as TrainProgress);
    });
    ev.on('completed', ({ jobId, returnvalue }) => {
      if (awaited.has(jobId)) finish(jobId, { type: 'result', jobId, at: o.clock.now(), result: parseReturn(returnvalue) });
    });
    ev.on('failed', ({ jobId, failedReason }) => {
      if (awaited.has(jobId)) finishFailed(jobId, failedReason);
    });
    ev.on('error', (e) => o.logger.warn(`queue: events of ${name}: ${e.message}`));
  }

  async function reconcileOne(jobId: string, q: QueueName): Promise<void> {
    const job = await Job.fromId(queues[q], jobId);
    if (!job && (await conn.exists(cancelKey(jobId)))) {
      // removed while waiting by a cancel, possibly from another front-end
      finish(jobId, { type: 'cancelled', jobId, at: o.clock.now() });
      return;
    }
    if (!job) {
      finish(jobId, { type: 'failed', jobId, at: o.clock.now(), error: { code: 'INTERNAL', message: `Job ${jobId} is no longer in the queue.`, hint: 'Try again.' } });
      return;
    }
    const state = await job.getState();
    if (state === 'active') started(jobId);
    else if (state === 'completed') finish(jobId, { type: 'result', jobId, at: o.clock.now(), result: parseReturn(job.returnvalue) });
    else if (state === 'failed') finishFailed(jobId, job.failedReason);
  }

  async function reconcile(): Promise<void> {
    for (const [jobId, q] of [...awaited]) {
      await reconcileOne(jobId, q).catch((e: unknown) => o.logger.warn(`queue: could not read job ${jobId}: ${(e as Error).message}`));
    }
  }
  const timer = setInterval(() => void reconcile(), o.reconcileMs ?? 5000);
  timer.unref();

  async function submit(command: Extract<ComputeCommand, { type: 'submit' }>): Promise<void> {
    const { request } = command;
    const q = queueOf(request.kind);
    awaited.set(request.id, q);
    try {
      await Promise.all(ready);
      await queues[q].add(request.kind, request, {
        jobId: request.id, attempts: 1, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 },
      });
      await reconcileOne(request.id, q); // it may have finished before this front-end listened (a re-sent request)
    } catch (e) {
      finish(request.id, { type: 'failed', jobId: request.id, at: o.clock.now(), error: { code: 'INTERNAL', message: `Could not queue the job: ${(e as Error).message}.`, hint: `Check that Redis (${describeRedisUrl(o.url)}) is up.` } });
    }
  }

  async function cancel(jobId: string): Promise<void> {
    await conn.set(cancelKey(jobId), '1', 'EX', CANCEL_TTL_S);
    await conn.publish(CANCEL_CHANNEL, jobId);
    for (const q of [QUEUES.train, QUEUES.gpu]) {
      const job = await Job.fromId(queues[q], jobId);
      if (!job) continue;
      if (WAITING_STATES.has(await job.getState())) {
        await job.remove().catch(() => undefined); // taken by a worker meanwhile: the key stops it there
      }
    }
  }

  setImmediate(() => emit({ type: 'ready', engine: `BullMQ · Redis ${describeRedisUrl(o.url)}` }));

  return {
    send(command) {
      if (closed) return;
      if (command.type === 'submit') void submit(command);
      else if (command.type === 'cancel') void cancel(command.jobId).catch((e: unknown) => o.logger.error(`queue: could not cancel ${command.jobId}`, e));
    },
    onEvent: (l) => void listeners.push(l),
    onDown: () => undefined,
    onUp: () => undefined,
    reconcile,
    followProgress(jobId, listener) {
      let set = followers.get(jobId);
      if (!set) followers.set(jobId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) followers.delete(jobId);
      };
    },
    async sharedActive() {
      const out: JobInfo[] = [];
      for (const q of [QUEUES.train, QUEUES.gpu]) {
        for (const [states, status] of [[['active'], 'running'], [['waiting', 'prioritized', 'delayed'], 'queued']] as const) {
          for (const j of await queues[q].getJobs([...states], 0, 500)) {
            const request = j?.data as JobRequest | undefined;
            if (!j?.id || !request?.owner || !request.place) continue;
            out.push({ ...infoOf(request), status, ...(j.processedOn ? { startedAt: j.processedOn } : {}) });
          }
        }
      }
      const running = out.filter((i) => i.status === 'running').sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
      return [...running, ...out.filter((i) => i.status === 'queued').sort((a, b) => a.createdAt - b.createdAt)];
    },
    async jobOutcome(jobId) {
      for (const q of [QUEUES.train, QUEUES.gpu]) {
        const job = await Job.fromId(queues[q], jobId);
        if (!job) continue;
        const state = await job.getState();
        const finishedOn = job.finishedOn ?? o.clock.now();
        // The job hash is read before the state: a job that completed in between is read without its return
        // value. Seen in CI (a take-over then read a null result); the next look reads it whole.
        if (state === 'completed' && job.returnvalue == null) return { state: 'live' };
        if (state === 'completed') return { state: 'completed', result: parseReturn(job.returnvalue), finishedOn };
        if (state === 'failed') {
          const outcome = outcomeOf(job.failedReason);
          return outcome.cancelled ? { state: 'cancelled', finishedOn } : { state: 'failed', error: outcome.error, finishedOn };
        }
        return { state: 'live' };
      }
      return { state: 'missing' };
    },
    async liveRunKeys(recentMs = 120_000) {
      const keys = new Set<string>();
      const jobs = await queues.train.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed'], 0, 500);
      const now = o.clock.now();
      for (const j of jobs) {
        if (!j) continue;
        if (j.finishedOn && now - j.finishedOn > recentMs) continue;
        const outDir = (j.data as { params?: { outDir?: unknown } })?.params?.outDir;
        if (typeof outDir === 'string') keys.add(modelKeyOf(outDir));
      }
      return keys;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await Promise.all([...streams, ...Object.values(queues)].map((q) => q.close().catch(() => undefined)));
      conn.disconnect();
      for (const c of eventConns) c.disconnect();
    },
  };
}

/** The bot's ComputeClient with compute on BullMQ workers. */
export function createBullCompute(o: BullTransportOptions): ComputeClient & { readonly transport: BullTransport } {
  const transport = createBullTransport(o);
  return Object.assign(createComputeClient({ transport, clock: o.clock, describe: `BullMQ · Redis ${describeRedisUrl(o.url)}` }), { transport });
}
