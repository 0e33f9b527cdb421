/**
 * The district variables: none set is the embedded default; ROLE, REDIS_URL and MODEL_STORE are checked together
 * with messages that say what to set; a front-end refuses a Redis that could lose jobs before it starts anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBot } from '../bot/start.ts';
import { loadConfig } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';
import { serverTest, startRedis } from './helpers/servers.ts';

test('no district variable: ROLE=all, no Redis, no model store (the embedded default)', () => {
  assert.deepEqual(loadConfig({}).distributed, { role: 'all', redisUrl: null, modelStore: null, databaseUrl: null, lockDurationMs: 30_000, stalledIntervalMs: 15_000, deliveryLeaseMs: 30_000 });
});

test('ROLE, REDIS_URL and MODEL_STORE are validated together, each problem said with what to set', () => {
  const ok = loadConfig({ ROLE: 'worker', REDIS_URL: 'redis://r:6379', MODEL_STORE: 'file:///mnt/modelos' }).distributed;
  assert.deepEqual([ok.role, ok.redisUrl, ok.modelStore], ['worker', 'redis://r:6379', 'file:///mnt/modelos']);
  const bad = (env: Record<string, string>, pattern: RegExp) =>
    assert.throws(() => loadConfig(env), (e) => isQuijoteError(e, 'BAD_CONFIG') && pattern.test(e.message), JSON.stringify(env));
  bad({ ROLE: 'bot' }, /`ROLE=bot` needs `REDIS_URL`/);
  bad({ ROLE: 'gpu' }, /ROLE/);
  bad({ REDIS_URL: 'redis://r:6379', MODEL_STORE: 'file:///m' }, /ROLE=bot.*ROLE=worker/);
  bad({ ROLE: 'worker', REDIS_URL: 'http://r', MODEL_STORE: 'file:///m' }, /redis:\/\//);
  bad({ ROLE: 'worker', REDIS_URL: 'redis://r' }, /`REDIS_URL` needs `MODEL_STORE`/);
  bad({ ROLE: 'worker', REDIS_URL: 'redis://r', MODEL_STORE: '/mnt/modelos' }, /file:\/\/\//);
  bad({ DATABASE_URL: 'mysql://db/quijote' }, /`DATABASE_URL`.*postgres:\/\/.*DATA_DIR/);
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://q@db:5432/quijote' }).distributed.databaseUrl, 'postgres://q@db:5432/quijote');
});

test('DISCORD_PUBLIC_KEY turns on HTTP interactions; a malformed key is refused', () => {
  const key = 'ab'.repeat(32);
  assert.equal(loadConfig({ DISCORD_PUBLIC_KEY: key, DISCORD_HTTP_PORT: '8443' }).discord.publicKey, key);
  assert.equal(loadConfig({ DISCORD_HTTP_PORT: '8443' }).discord.httpPort, 8443);
  assert.throws(() => loadConfig({ DISCORD_PUBLIC_KEY: 'xyz' }), (e) => isQuijoteError(e, 'BAD_CONFIG') && /DISCORD_PUBLIC_KEY/.test(e.message));
});

test('a front-end (ROLE=bot) refuses a Redis without noeviction and AOF before starting', serverTest('redis'), async () => {
  const unsafe = await startRedis(['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no']);
  const lines: string[] = [];
  try {
    const r = await startBot({
      env: { ROLE: 'bot', REDIS_URL: unsafe.url, MODEL_STORE: 'file:///tmp/quijote-models', DISCORD_TOKEN: 'x', DISCORD_APP_ID: '123456789012345678', DATA_DIR: ':memory:' },
      write: (l) => lines.push(l),
    });
    assert.equal(r.code, 1);
    assert.match(lines.join('\n'), /allkeys-lru.*AOF is off.*noeviction/s);
  } finally {
    await unsafe.stop();
  }
});
