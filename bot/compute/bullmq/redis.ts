/**
 * Redis connections for the queue, and the start-up check: BullMQ's jobs must never be evicted (maxmemory-policy
 * noeviction) and must survive a Redis restart (AOF on). Read from INFO, which managed Redis services allow even
 * where CONFIG is disabled.
 */
import { Redis } from 'ioredis';
import { QuijoteError } from '../../../core/errors.ts';

/** host:port of a redis:// URL, never its password. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/** A connection as BullMQ wants it (blocking commands retry forever instead of failing after 20 tries). */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** Throws BAD_CONFIG (what is wrong, how to fix it) unless Redis is reachable, noeviction and AOF. */
export async function checkRedisForQueues(url: string, timeoutMs = 5000): Promise<{ version: string }> {
  const where = describeRedisUrl(url);
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null });
  r.on('error', () => undefined); // reported below
  try {
    await r.connect();
    const memory = await r.info('memory');
    const persistence = await r.info('persistence');
    const server = await r.info('server');
    const policy = infoField(memory, 'maxmemory_policy');
    const aof = infoField(persistence, 'aof_enabled');
    const problems: string[] = [];
    if (policy !== 'noeviction') problems.push(`maxmemory-policy is ${policy ?? 'unknown'} (Redis could evict queued jobs)`);
    if (aof !== '1') problems.push('AOF is off (a Redis restart would lose the queue)');
    if (problems.length) {
      throw new QuijoteError('BAD_CONFIG', `Redis at ${where} is not safe for the job queue: ${problems.join('; ')}.`, {
        hint: 'Set "maxmemory-policy noeviction" and "appendonly yes" in redis.conf (or CONFIG SET maxmemory-policy noeviction; CONFIG SET appendonly yes) and restart the bot.',
      });
    }
    return { version: infoField(server, 'redis_version') ?? '?' };
  } catch (e) {
    if (e instanceof QuijoteError) throw e;
    throw new QuijoteError('BAD_CONFIG', `Cannot reach Redis at ${where}: ${(e as Error).message}.`, {
      cause: e, hint: 'Check REDIS_URL and that Redis is running and reachable from this machine.',
    });
  } finally {
    r.disconnect();
  }
}
