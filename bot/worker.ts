/**
 * `ROLE=worker npm start` (or `npm run worker`): one compute worker, one per GPU or CPU box. Loads the engine,
 * checks Redis (noeviction + AOF), and takes jobs from the district's queue: trainings one at a time, stories and
 * scores between its training's steps. Class models go to and come from MODEL_STORE. SIGTERM/SIGINT finish
 * nothing half-way: the worker stops taking jobs and closes; what it held is taken over by another worker.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, loadDotenv } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';
import { consoleLogger } from './services.ts';
import type { AppConfig } from '../config/index.ts';
import { FileModelStore } from '../core/modelstore/file-store.ts';
import { withModelStore } from '../core/modelstore/engine.ts';
import type { Engine } from '../core/engine.ts';
import type { Clock } from '../core/store/types.ts';
import type { Logger } from '../commands/types.ts';
import { checkRedisForQueues } from './compute/bullmq/redis.ts';
import { startBullWorker, type BullWorker } from './compute/bullmq/worker.ts';
import { EXIT_GPU_ERROR, EXIT_OUT_OF_MEMORY } from './compute/exit-codes.ts';

export interface StartWorkerOptions {
  config: AppConfig;
  logger: Logger;
  clock: Clock;
  /** The engine (default: the real one, loaded here). Tests pass a fake. */
  engine?: Engine;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  exit?: (code: number) => void;
}

export async function startWorker(o: StartWorkerOptions): Promise<BullWorker> {
  const { redisUrl, modelStore } = o.config.distributed;
  if (!redisUrl || !modelStore) throw new Error('ROLE=worker needs REDIS_URL and MODEL_STORE (config checks this)');
  const redis = await checkRedisForQueues(redisUrl);
  let engine = o.engine;
  if (!engine) {
    const { createEngine } = await import('../core/pipeline/tfjs-engine.ts');
    engine = createEngine(o.config, { now: o.clock.now, log: (l) => o.logger.info(`engine: ${l}`), libraryPath: o.config.libraryPath ?? undefined });
  }
  const store = new FileModelStore(modelStore, path.join(o.config.dataDir, 'model-cache'));
  const worker = await startBullWorker({
    url: redisUrl,
    engine: withModelStore(engine, store, path.join(o.config.dataDir, 'work')),
    clock: o.clock,
    logger: o.logger,
    lockDurationMs: o.lockDurationMs,
    stalledIntervalMs: o.stalledIntervalMs,
    onFailure(error) {
      if (error.code !== 'OUT_OF_MEMORY' && error.code !== 'GPU_ERROR') return;
      o.logger.warn(`worker: ${error.code}: exiting for a fresh heap (the supervisor restarts it)`);
      void worker.close().finally(() => (o.exit ?? process.exit)(error.code === 'GPU_ERROR' ? EXIT_GPU_ERROR : EXIT_OUT_OF_MEMORY));
    },
  });
  o.logger.info(`worker: taking jobs from Redis ${redis.version} at ${new URL(redisUrl).host}; models in ${store.root}; engine ${engine.describe()}`);
  return worker;
}

/** The worker process: `npm run worker`, or `npm start` with ROLE=worker. */
export async function workerMain(): Promise<void> {
  loadDotenv();
  const config = loadConfig(process.env);
  const clock = { now: () => Date.now() };
  const worker = await startWorker({
    config, clock, logger: consoleLogger(clock),
    // tests shorten take-over times; a district keeps BullMQ's defaults
    lockDurationMs: config.distributed.lockDurationMs, stalledIntervalMs: config.distributed.stalledIntervalMs,
  });
  const stop = () => void worker.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  workerMain().catch((e: unknown) => {
    console.error(isQuijoteError(e) ? e.message : e);
    process.exit(1);
  });
}
