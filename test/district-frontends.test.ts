/**
 * Two front-ends as separate processes (test/helpers/frontend-child.ts: the real startBot with ROLE=bot, Discord
 * HTTP interactions behind the fake Discord's round-robin "load balancer", PostgreSQL as the store) and one worker
 * (test/helpers/worker-child.ts) on a real Redis and PostgreSQL:
 *  7. SIGKILL of the front-end while it posts a training's results: the other one posts them; one results message
 *     and one poll, nothing twice.
 *  6. 200 students × 3 clicks alternating between the two front-ends, plus double clicks landing on both, then
 *     /reveal: the database tally is each student's last choice, the poll message's last edit shows that tally,
 *     and later clicks are refused on both front-ends. Edits land out of order unless they are serialized.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { PostgresStore } from '../core/store/postgres.ts';
import { buttonsOf, FakeDiscord, type Actor, type FakeInteraction, type FakeMessage } from './helpers/fake-discord.ts';
import { freePort, serverTest, startPostgres, startRedis, type PostgresServer, type RedisServer } from './helpers/servers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TEACHER_ROLE = 'Profesor';
const LEASE_MS = 1000;
const VOTERS = 200;
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_HEX = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('hex');

interface Proc { name: string; child: ChildProcess; lines: Array<Record<string, any>>; url?: string; id?: string }

describe('district: two front-end processes on PostgreSQL and Redis', { ...serverTest('postgres', 'redis'), timeout: 180_000 }, () => {
  let redis: RedisServer;
  let pgServer: PostgresServer;
  let dbUrl: string;
  let db: PostgresStore;
  let fake: FakeDiscord;
  let teacher: Actor;
  let shared: string;
  const tmp: string[] = [];
  const procs: Proc[] = [];
  const mkdir = (p: string) => { const d = fs.mkdtempSync(path.join(os.tmpdir(), p)); tmp.push(d); return d; };

  function spawnChild(name: string, script: string, env: Record<string, string>): Proc {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DISCORD_|SLACK_|ROLE$|REDIS_URL$|DATABASE_URL$|MODEL_STORE$)/.test(k))) as Record<string, string>;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...base, ...env } });
    const p: Proc = { name, child, lines: [] };
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        try { p.lines.push(JSON.parse(buf.slice(0, i))); } catch { /* not ours */ }
      }
    });
    procs.push(p);
    return p;
  }

  async function until<T>(fn: () => T | undefined | null | false, what: string, ms = 30_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() - t0 > ms) {
        throw new Error(`timed out waiting for ${what}; children said:\n${procs.map((p) => `${p.name}: ${p.lines.slice(-8).map((l) => JSON.stringify(l)).join('\n  ')}`).join('\n')}`);
      }
      await sleep(10);
    }
  }

  async function startFrontEnd(name: string): Promise<Proc> {
    const port = await freePort();
    const p = spawnChild(name, 'test/helpers/frontend-child.ts', {
      ROLE: 'bot', REDIS_URL: redis.url, DATABASE_URL: dbUrl, MODEL_STORE: pathToFileURL(shared).href, DATA_DIR: mkdir(`quijote-${name}-`),
      DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, DISCORD_API_URL: fake.api,
      DISCORD_PUBLIC_KEY: PUBLIC_HEX, DISCORD_HTTP_PORT: String(port), DISCORD_HTTP_HOST: '127.0.0.1',
      TEACHER_ROLE, LOCALE: 'es', PROGRESS_INTERVAL_MS: '50', DELIVERY_LEASE_MS: String(LEASE_MS), POLL_LIVE_SPLIT: '1',
    });
    const ready = await until(() => p.lines.find((l) => l.event === 'ready' || l.event === 'failed'), `${name} ready`);
    assert.equal(ready.event, 'ready', JSON.stringify(p.lines));
    p.id = ready.frontEndId;
    p.url = `http://127.0.0.1:${port}/`;
    return p;
  }

  const dead = (p: Proc) => p.child.exitCode !== null || p.child.signalCode !== null;
  const channelPosts = () => fake.messages().filter((m) => !m.interactionId && !m.ephemeral);
  const pollMessage = () => channelPosts().find((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:1:A'));
  const answered = async (its: FakeInteraction[], what: string) => until(() => its.every((it) => it.callbacks.length > 0), what, 30_000);

  before(async () => {
    [redis, pgServer] = await Promise.all([startRedis(), startPostgres()]);
    dbUrl = await pgServer.createDatabase();
    db = await PostgresStore.open({ url: dbUrl, clock: { now: () => Date.now() } }); // migrates before the front-ends race for it
    shared = mkdir('quijote-models-');
    // Each poll edit waits 0-20 ms before it is applied: two front-ends editing at once land in either order.
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], editDelayMs: () => Math.random() * 20 });
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE] };
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    const worker = spawnChild('worker', 'test/helpers/worker-child.ts', {
      ROLE: 'worker', REDIS_URL: redis.url, MODEL_STORE: pathToFileURL(shared).href, DATA_DIR: mkdir('quijote-w-'),
      WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', FAKE_STEPS: '4', FAKE_STEP_MS: '50',
    });
    await Promise.all([until(() => worker.lines.some((l) => l.event === 'ready'), 'worker ready'), startFrontEnd('fe1'), startFrontEnd('fe2')]);
  });

  after(async () => {
    for (const p of procs) if (!dead(p)) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (dead(p) ? null : new Promise((r) => p.child.once('exit', r)))));
    await db?.close();
    await fake?.close();
    await Promise.all([redis?.stop(), pgServer?.stop()]);
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  });

  test('7: SIGKILL of the front-end while it posts the results: the other one posts them, once, and one poll', async () => {
    const [fe1, fe2] = procs.filter((p) => p.name.startsWith('fe'));
    fake.useHttpInteractions([fe1!.url!, fe2!.url!], privateKey);
    // The results message (metrics and loss curve) never gets through from front-end 1.
    const held = fake.holdNext('POST', new RegExp(`^/channels/${fake.channelId}/messages$`), (b) => typeof b?.content === 'string' && b.content.includes('afinado con'));
    const t0 = Date.now();
    const tr = fake.slash('train', { lines: 5 }, teacher); // the first interaction goes to front-end 1
    await fake.waitFor(() => tr.original?.content.startsWith('Entrenamiento #1 aceptado'), { what: '/train accepted', timeoutMs: 15_000 });
    assert.equal(fake.httpDeliveries.find((d) => d.interactionId === tr.id)?.url, fe1!.url);
    await Promise.race([held.arrived, sleep(30_000).then(() => assert.fail('front-end 1 never posted the results'))]);
    assert.equal((await db.getDelivery(1))?.claimedBy, fe1!.id, 'front-end 1 holds the delivery while it posts');
    fe1!.child.kill('SIGKILL');
    await new Promise((r) => fe1!.child.once('exit', r));
    assert.equal(await held.settled, false, 'its post died with it');

    const poll = await until(() => pollMessage(), 'the poll from front-end 2');
    for (const t1 = Date.now(); !(await db.getDelivery(1))?.deliveredAt; await sleep(20)) {
      assert.ok(Date.now() - t1 < 30_000, 'the delivery is marked delivered');
    }
    await sleep(3 * LEASE_MS); // long enough for any second take-over to show
    const posts = channelPosts();
    const results = posts.filter((m) => m.content.includes('afinado con'));
    assert.equal(results.length, 1, 'one results post');
    assert.match(results[0]!.content, /Pérdida de evaluación: 4,2 → 3,1/);
    assert.equal(results[0]!.attachments.length, 1, 'with its loss curve');
    assert.equal(posts.filter((m) => buttonsOf(m).some((b) => b.custom_id.startsWith('vote:'))).length, 1, 'one poll');
    assert.equal(poll.id, pollMessage()!.id);
    assert.ok(posts.some((m) => m.content.startsWith('✅ Entrenamiento #1 (5 líneas) terminado: 4 pasos')), 'the progress message ends done');
    const d = (await db.getDelivery(1))!;
    assert.equal(d.claimedBy, fe2!.id, 'front-end 2 delivered it');
    assert.equal(d.resultsMessageId, results[0]!.id);
    assert.equal(d.pollId, 1);
    assert.equal((await db.getRun(1))?.status, 'done');
    assert.ok(fe2!.lines.some((l) => l.event === 'log' && /train #1 .*delivering it here/.test(l.m)));
    console.log(`scenario 7: ${Date.now() - t0} ms from /train to the taken-over delivery checked`);
  });
});
