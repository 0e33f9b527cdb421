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
const CONCURRENT = 25; // students clicking at the same moment (a class); all 200 vote
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
  const pollOf = (id: number) => channelPosts().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${id}:A`));
  const pollMessage = () => pollOf(1);
  const answered = async (its: FakeInteraction[], what: string) => until(() => its.every((it) => it.callbacks.length > 0), what, 30_000);

  before(async () => {
    const t0 = Date.now();
    [redis, pgServer] = await Promise.all([startRedis(), startPostgres()]);
    dbUrl = await pgServer.createDatabase();
    db = await PostgresStore.open({ url: dbUrl, clock: { now: () => Date.now() } }); // migrates before the front-ends race for it
    shared = mkdir('quijote-models-');
    // Some edits are slow to apply (150 ms, as over a congested link): two front-ends editing at once land in
    // either order, and an older render can land after a newer one unless the edits are serialized.
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], editDelayMs: () => (Math.random() < 0.3 ? 150 : Math.random() * 5) });
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE] };
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    const worker = spawnChild('worker', 'test/helpers/worker-child.ts', {
      ROLE: 'worker', REDIS_URL: redis.url, MODEL_STORE: pathToFileURL(shared).href, DATA_DIR: mkdir('quijote-w-'),
      WORKER_LOCK_MS: '1500', WORKER_STALLED_CHECK_MS: '500', FAKE_STEPS: '4', FAKE_STEP_MS: '50', FAKE_SLOW_LINES: '7', FAKE_SLOW_STEP_MS: '600', FAKE_SLOW_STEPS: '8',
    });
    await Promise.all([until(() => worker.lines.some((l) => l.event === 'ready'), 'worker ready'), startFrontEnd('fe1'), startFrontEnd('fe2')]);
    console.log(`district set-up (Redis, PostgreSQL, a worker and two front-ends): ${Date.now() - t0} ms`);
  });

  after(async () => {
    const t0 = Date.now();
    for (const p of procs) if (!dead(p)) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (dead(p) ? null : new Promise((r) => p.child.once('exit', r)))));
    await db?.close();
    await fake?.close();
    await Promise.all([redis?.stop(), pgServer?.stop()]);
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
    console.log(`district tear-down: ${Date.now() - t0} ms`);
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

  test('6: 200 students × 3 clicks across both front-ends plus double clicks, then /reveal: tally, last edit and refusals agree', async () => {
    const fe2 = procs.find((p) => p.name === 'fe2')!;
    const fe3 = await startFrontEnd('fe3'); // the replacement of the killed one: two live front-ends again
    fake.useHttpInteractions([fe2.url!, fe3.url!], privateKey);
    const pollMsg: FakeMessage = pollMessage()!;
    const t0 = Date.now();
    const users = Array.from({ length: VOTERS }, (_, i) => fake.user(`alumna${i}`));
    const last = new Map<string, 'A' | 'B'>();
    const clicks: FakeInteraction[] = [];
    const via = new Map<string, Set<string>>(); // interaction id → endpoint, filled from the deliveries below
    // A class's worth of students clicking at any moment (CONCURRENT at once), 200 in all, each one click after another.
    let nextUser = 0;
    await Promise.all(Array.from({ length: CONCURRENT }, async () => {
      for (let i = nextUser++; i < VOTERS; i = nextUser++) await student(users[i]!, i);
    }));
    async function student(user: (typeof users)[number], i: number): Promise<void> {
      for (let k = 0; k < 3; k++) {
        const choice = (i * 7 + k * 3) % 5 < 2 ? 'A' : 'B';
        // Every 4th student double-clicks the last choice: the two clicks go out together, one to each front-end.
        const its = Array.from({ length: k === 2 && i % 4 === 0 ? 2 : 1 }, () => fake.click(pollMsg, `vote:1:${choice}`, { user }));
        clicks.push(...its);
        last.set(user.id, choice);
        await answered(its, `the clicks of ${user.username}`);
      }
    }
    const clicksMs = Date.now() - t0;
    const latencies = clicks.map((c) => c.callbacks[0]!.at - c.createdAt).sort((x, y) => x - y);
    for (const it of clicks) {
      assert.equal(it.callbacks[0]!.type, 4, 'answered in the HTTP response');
      assert.match(it.callbacks[0]!.data.content, /^(Tu voto|Voto cambiado|Ya habías votado)/);
    }
    const endpoints = new Map<string, Set<string>>();
    for (const d of fake.httpDeliveries) via.set(d.interactionId, new Set([d.url]));
    const doubles = users.filter((_, i) => i % 4 === 0).map((u) => clicks.filter((c) => c.user.id === u.id).slice(-2));
    for (const pair of doubles) {
      const urls = new Set(pair.flatMap((c) => [...(via.get(c.id) ?? [])]));
      assert.equal(urls.size, 2, 'the two clicks of a double click reached different front-ends');
    }
    for (const c of clicks) for (const u of via.get(c.id) ?? []) endpoints.set(u, (endpoints.get(u) ?? new Set()).add(c.id));
    assert.ok(endpoints.get(fe2.url!)!.size > VOTERS && endpoints.get(fe3.url!)!.size > VOTERS, 'both front-ends took clicks');

    const expected = { A: [...last.values()].filter((c) => c === 'A').length, B: [...last.values()].filter((c) => c === 'B').length };
    assert.deepEqual(await db.tally(1), { ...expected, total: VOTERS }, 'the database tally is each student\'s last choice');
    for (const u of users) assert.equal(await db.getVote(1, u.id), last.get(u.id));
    await fake.settle(300);
    assert.ok(fake.message(pollMsg.id).content.includes(`Votos: Historia A ${expected.A} · Historia B ${expected.B}`), `the last edit shows the tally:\n${fake.message(pollMsg.id).content}`);

    const rv = fake.slash('reveal', {}, teacher);
    await fake.waitFor(() => rv.original?.content.startsWith('🔍'), { what: '/reveal answer', timeoutMs: 15_000 });
    assert.ok(rv.original!.content.includes(`Votos: Historia A ${expected.A} · Historia B ${expected.B}.`));
    // Students still seeing the buttons click on both front-ends: refused, nothing counted.
    const late = [fake.click(pollMsg, 'vote:1:A', { user: users[1] }, true), fake.click(pollMsg, 'vote:1:B', { user: fake.user('tarde') }, true)];
    await answered(late, 'the late clicks');
    for (const it of late) assert.equal(it.callbacks[0]!.data.content, 'Esta votación ya está cerrada; gracias por participar.');
    assert.deepEqual(new Set(late.map((it) => fake.httpDeliveries.find((d) => d.interactionId === it.id)?.url)), new Set([fe2.url, fe3.url]));
    await fake.settle(300);
    const closed = fake.message(pollMsg.id);
    assert.ok(closed.content.endsWith('🔒 Votación cerrada.'), closed.content);
    assert.ok(closed.content.includes(`Votos: Historia A ${expected.A} · Historia B ${expected.B}`), closed.content);
    assert.deepEqual(buttonsOf(closed), []);
    assert.deepEqual(await db.tally(1), { ...expected, total: VOTERS });
    const edits = fake.requestsTo('PATCH', new RegExp(`^/channels/${fake.channelId}/messages/${pollMsg.id}$`)).length;
    console.log(`scenario 6: ${clicks.length} clicks answered in ${clicksMs} ms (p50 ${latencies[latencies.length >> 1]} ms, max ${latencies.at(-1)} ms), ${edits} poll edits, ${Date.now() - t0} ms in all`);
  });

  test('/status and /cancel on the front-end that did not start the training see it and stop it', async () => {
    const fe2 = procs.find((p) => p.name === 'fe2')!;
    const fe3 = procs.find((p) => p.name === 'fe3')!;
    fake.useHttpInteractions([fe2.url!], privateKey);
    const tr = fake.slash('train', { lines: 7 }, teacher); // 8 steps of 600 ms on the worker
    await fake.waitFor(() => tr.original?.content.startsWith('Entrenamiento #2 aceptado'), { what: '/train #2 accepted', timeoutMs: 15_000 });
    for (const t1 = Date.now(); (await db.getRun(2))?.status !== 'running'; await sleep(20)) assert.ok(Date.now() - t1 < 15_000, 'run #2 starts');
    fake.useHttpInteractions([fe3.url!], privateKey);
    const st = fake.slash('status', {}, { user: fake.user('curiosa') });
    await fake.waitFor(() => st.original?.content, { what: '/status on front-end 3', timeoutMs: 15_000 });
    assert.match(st.original!.content, /En marcha: .*7 líneas/, st.original!.content);
    const cn = fake.slash('cancel', {}, teacher);
    await fake.waitFor(() => cn.original?.content, { what: '/cancel on front-end 3', timeoutMs: 15_000 });
    assert.match(cn.original!.content, /^Cancelado: .*7 líneas/, cn.original!.content);
    await fake.waitFor(() => channelPosts().some((m) => m.content === '🛑 Entrenamiento #2 cancelado.'), { what: 'the progress message says cancelled', timeoutMs: 15_000 });
    for (const t1 = Date.now(); (await db.getRun(2))?.status !== 'cancelled'; await sleep(20)) assert.ok(Date.now() - t1 < 15_000, 'run #2 is cancelled in the store');
    assert.ok(!channelPosts().some((m) => m.content.includes('7 líneas del Quijote')), 'no results for a cancelled run');
  });

  test('the front-end running a training dies: the other one edits its progress at the interval and posts its end once', async () => {
    const fe2 = procs.find((p) => p.name === 'fe2')!;
    const fe3 = procs.find((p) => p.name === 'fe3')!;
    fake.useHttpInteractions([fe2.url!], privateKey);
    const tr = fake.slash('train', { lines: 7 }, teacher); // 8 steps of 600 ms
    await fake.waitFor(() => tr.original?.content.startsWith('Entrenamiento #3 aceptado'), { what: '/train #3 accepted', timeoutMs: 15_000 });
    const progress = await fake.waitFor(() => channelPosts().find((m) => m.content.startsWith('🏋️ Entrenamiento #3') && /Paso [12]\/8/.test(m.content)), { what: 'progress of #3 at step 1', timeoutMs: 15_000 });
    fake.useHttpInteractions([fe3.url!], privateKey);
    fe2.child.kill('SIGKILL');
    const killedAt = Date.now();
    const seen = new Set<string>();
    await until(() => {
      const step = /Paso (\d)\/8/.exec(fake.message(progress.id).content)?.[1];
      if (step) seen.add(step);
      return fake.message(progress.id).content.startsWith('✅ Entrenamiento #3');
    }, 'the progress message of #3 ends done');
    const after = [...seen].map(Number).filter((n) => n >= 5);
    assert.ok(after.length >= 2, `front-end 3 kept editing the progress (steps seen: ${[...seen].join(', ')})`);
    await fake.waitFor(() => pollOf(2), { what: 'the poll of #3', timeoutMs: 20_000 });
    await sleep(2 * LEASE_MS);
    assert.equal(channelPosts().filter((m) => m.content.includes('afinado con 7 líneas')).length, 1, 'one results post');
    assert.equal(channelPosts().filter((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:2:A')).length, 1, 'one poll');
    assert.equal((await db.getDelivery(3))?.claimedBy, fe3.id);
    assert.equal((await db.getRun(3))?.status, 'done');
    console.log(`progress take-over: front-end 3 edited steps ${after.join(', ')}; ${Date.now() - killedAt} ms from SIGKILL to the poll`);
  });
});
