/**
 * The district variables (README «Despliegue en un distrito»). None set = the embedded default, unchanged:
 * ROLE=all, compute in a child process of `npm start`, models under DATA_DIR.
 *  - ROLE: all | bot (front-end only) | worker (compute only, pulls jobs from Redis);
 *  - REDIS_URL: BullMQ's Redis, required by ROLE=bot and ROLE=worker (and refused with ROLE=all);
 *  - MODEL_STORE: file:// folder every machine mounts at the same path, where class models are published;
 *  - DATABASE_URL: postgres://… the store shared by the front-ends (ROLE=bot, or ROLE=all); unset = SQLite in DATA_DIR.
 */
import type { EnvReader } from './parse.ts';

export type Role = 'all' | 'bot' | 'worker';

export interface DistributedConfig {
  role: Role;
  redisUrl: string | null;
  modelStore: string | null;
  /** The PostgreSQL store of the front-ends; null = the embedded SQLite file in DATA_DIR. */
  databaseUrl: string | null;
  /** WORKER_LOCK_MS / WORKER_STALLED_CHECK_MS: how soon a dead worker's job is taken over (defaults 30000 / 15000). */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /**
   * DELIVERY_LEASE_MS: how long a front-end's claim on delivering a training's results lasts without renewal (it
   * renews it while it works); a front-end that dies is taken over this long after (default 30000).
   */
  deliveryLeaseMs: number;
}

export function readDistributed(r: EnvReader): DistributedConfig {
  const role = r.oneOf('ROLE', ['all', 'bot', 'worker'] as const, 'all');
  const redisUrl = r.optional('REDIS_URL') ?? null;
  const modelStore = r.optional('MODEL_STORE') ?? null;
  const databaseUrl = r.optional('DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/[^/]/.test(databaseUrl)) r.errors.push('Expected `DATABASE_URL` to be a postgres:// URL, like `postgres://quijote:contraseña@db.distrito.local:5432/quijote` (unset it to keep the SQLite file in `DATA_DIR`)');
  if (redisUrl !== null && !/^rediss?:\/\/[^/]/.test(redisUrl)) r.errors.push('Expected `REDIS_URL` to be a redis:// or rediss:// URL, like `redis://redis.distrito.local:6379`');
  if (role === 'all' && redisUrl !== null) r.errors.push('`REDIS_URL` is for a district: set `ROLE=bot` on the front-ends and `ROLE=worker` on the compute machines (`ROLE=all`, the default, keeps compute in a child process of `npm start`)');
  if (role !== 'all' && redisUrl === null) r.errors.push(`\`ROLE=${role}\` needs \`REDIS_URL\` (the job queue shared by the front-ends and the workers)`);
  if (modelStore !== null && !/^file:\/\/\//.test(modelStore)) r.errors.push('Expected `MODEL_STORE` to be a file:/// URL of a folder mounted on every machine, like `file:///mnt/modelos`');
  if (redisUrl !== null && modelStore === null) r.errors.push('`REDIS_URL` needs `MODEL_STORE` too: workers on other machines must find the class models (a file:/// folder every machine mounts)');
  const lockDurationMs = r.positiveInt('WORKER_LOCK_MS', 30_000);
  const stalledIntervalMs = r.positiveInt('WORKER_STALLED_CHECK_MS', 15_000);
  const deliveryLeaseMs = r.positiveInt('DELIVERY_LEASE_MS', 30_000);
  return { role, redisUrl, modelStore, databaseUrl, lockDurationMs, stalledIntervalMs, deliveryLeaseMs };
}
