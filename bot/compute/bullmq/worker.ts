/**
 * A compute worker on BullMQ (ROLE=worker): takes jobs from the `train` queue (one training at a time) and the
 * `gpu` queue (stories, scores) and runs them through the same executor as the compute child process, so a
 * story still runs between two optimizer steps of the training this worker holds. Progress goes to the job
 * (`updateProgress`, which every front-end sees); the result is the job's return value; a failure is the job's
 * failed reason (the protocol's WireError as JSON); a cancellation fails the job with UnrecoverableError, so
 * BullMQ never retries it. If this worker dies, its jobs' locks expire and another worker takes them over.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '../../../commands/types.ts';
import type { Engine } from '../../../core/engine.ts';
import { createExecutor } from '../../../core/jobs/executor.ts';
import type { ComputeEvent, JobRequest, WireError } from '../../../core/jobs/protocol.ts';
import type { Clock } from '../../../core/store/types.ts';
import { redisConnection } from './redis.ts';
import { CANCEL_CHANNEL, cancelKey, cancelledError, failureReason, PREFIX, QUEUES } from './wire.ts';

export interface BullWorkerOptions {
  url: string;
  engine: Engine;
  clock: Clock;
  logger: Logger;
  /** Stories/scores this worker runs at once beside its training (default 2). */
  gpuConcurrency?: number;
  /** A job whose worker stops renewing its lock for this long is taken over by another (default 30000 ms). */
  lockDurationMs?: number;
  /** How often workers look for such stalled jobs (default 15000 ms). */
  stalledIntervalMs?: number;
  /** Told about every failed job (the worker process restarts itself after errors that leave the heap unsafe). */
  onFailure?: (error: WireError, request: JobRequest) => void;
}

export interface BullWorker {
  close(): Promise<void>;
}

interface Running {
  job: Job;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export async function startBullWorker(o: BullWorkerOptions): Promise<BullWorker> {
  const conn = redisConnection(o.url);
  const sub = redisConnection(o.url);
  conn.on('error', (e) => o.logger.warn(`worker: redis: ${e.message}`));
  sub.on('error', () => undefined);
  const running = new Map<string, Running>();

  const executor = createExecutor({
    engine: o.engine,
    clock: o.clock,
    onFailure: o.onFailure,
    emit(event: ComputeEvent) {
      if (event.type === 'log') return void o.logger[event.level](`worker: ${event.line}`);
      if (event.type === 'ready' || event.type === 'download') return;
      const r = running.get(event.jobId);
      if (!r) return;
      switch (event.type) {
        case 'progress':
          r.job.updateProgress(event.progress as never).catch((e: unknown) => o.logger.warn(`worker: progress of ${event.jobId}: ${(e as Error).message}`));
          return;
        case 'result':
          return r.resolve(event.result);
        case 'failed':
          return r.reject(new UnrecoverableError(failureReason(event.error)));
        case 'cancelled':
          return r.reject(cancelledError());
      }
    },
  });

  await sub.subscribe(CANCEL_CHANNEL);
  sub.on('message', (_channel, jobId: string) => {
    if (running.has(jobId)) executor.handle({ type: 'cancel', jobId });
  });

  const processor = async (job: Job): Promise<unknown> => {
    const id = String(job.id);
    if (await conn.exists(cancelKey(id))) throw cancelledError();
    const done = new Promise<unknown>((resolve, reject) => running.set(id, { job, resolve, reject }));
    done.catch(() => undefined); // it may settle while the cancel check below is in flight; awaited right after
    try {
      executor.handle({ type: 'submit', request: job.data as JobRequest });
      if (await conn.exists(cancelKey(id))) executor.handle({ type: 'cancel', jobId: id }); // cancelled meanwhile
      return await done;
    } finally {
      running.delete(id);
    }
  };

  const settings = {
    connection: conn, prefix: PREFIX, lockDuration: o.lockDurationMs ?? 30_000, stalledInterval: o.stalledIntervalMs ?? 15_000, maxStalledCount: 2,
  };
  const workers = [
    new Worker(QUEUES.train, processor, { ...settings, concurrency: 1 }),
    new Worker(QUEUES.gpu, processor, { ...settings, concurrency: o.gpuConcurrency ?? 2 }),
  ];
  for (const w of workers) {
    w.on('error', (e) => o.logger.warn(`worker: ${w.name}: ${e.message}`));
    w.on('stalled', (jobId) => o.logger.warn(`worker: job ${jobId} stalled on a dead worker; taken over`));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      sub.disconnect();
      conn.disconnect();
    },
  };
}
