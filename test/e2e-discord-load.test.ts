/**
 * A class of 30 (and a school of 1000) cannot break the polls: the real bot (startBot with the real commands,
 * store and job queue; a fake engine, since no model is needed to vote) through the REAL discord.js client against
 * the fake Discord with Discord's per-channel edit rate limit (5 edits per 5 s, 429 + retry_after past it).
 *
 * 1000 students vote within 10 s and 100 of them change their vote: every click is answered within 1 s, the
 * poll message is edited as often as the rate limit allows (not once per click), /reveal answers at once, and
 * the closed message shows the exact tally, one vote per student.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import type { RunningBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type Actor, type FakeInteraction, type FakeMessage } from './helpers/fake-discord.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { tmpDataDir } from './helpers/e2e.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { startBot } from '../bot/start.ts';

const TEACHER_ROLE = 'Profesor';
const VOTERS = 1000;
const CHANGERS = 100;
const STORM_MS = 10_000;
const EDIT_RATE = { limit: 5, windowMs: 5000 };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe('click storm on Discord: 1000 votes in 10 s under the real edit rate limit', { timeout: 120_000 }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const logs: string[] = [];
  let teacher: Actor;
  let pollMsg: FakeMessage;

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], editRate: EDIT_RATE });
    data = tmpDataDir();
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE] };
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    const res = await startBot({
      env: { DISCORD_API_URL: fake.api, DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE, DATA_DIR: data.dir, LOCALE: 'es', PROGRESS_INTERVAL_MS: '1000' },
      write: (l) => logs.push(l),
      createCompute: ({ clock }) => createLocalCompute(new FakeEngine({ steps: 2 }), clock),
      text: new FakeEngine(),
    });
    assert.equal(res.code, 0, logs.join('\n'));
    bot = res.bot;
    const it = fake.slash('train', { lines: 5 }, teacher);
    await fake.waitFor(() => it.original?.content.startsWith('Entrenamiento #1 aceptado'), { what: '/train accepted' });
    pollMsg = await fake.waitFor(() => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:1:A')), { what: 'the automatic poll' });
    await fake.settle(300);
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('every vote is confirmed within 1 s; edits follow the rate, not the clicks; /reveal shows the exact tally', async () => {
    const users = Array.from({ length: VOTERS }, (_, i) => fake.user(`alumno${i}`));
    const last = new Map<string, 'A' | 'B'>();
    const clicks: { it: FakeInteraction; at: number }[] = [];
    const plan: { user: (typeof users)[number]; choice: 'A' | 'B' }[] = users.map((user, i) => ({ user, choice: i % 3 === 0 ? 'B' : 'A' }));
    // 100 students change their mind later in the storm.
    for (let i = 0; i < CHANGERS; i++) plan.splice(200 + i * 8, 0, { user: users[i * 7]!, choice: 'A' === plan[i * 7]!.choice ? 'B' : 'A' });
    const editsBefore = fake.requestsTo('PATCH', new RegExp(`^/channels/${fake.channelId}/messages/${pollMsg.id}$`)).filter((r) => r.status === 200).length;
    const start = Date.now();
    const gap = STORM_MS / plan.length;
    for (let k = 0; k < plan.length; k++) {
      const due = start + k * gap;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { user, choice } = plan[k]!;
      clicks.push({ it: fake.click(pollMsg, `vote:1:${choice}`, { user }), at: Date.now() });
      last.set(user.id, choice);
    }
    const stormMs = Date.now() - start;
    await fake.waitFor(() => clicks.every((c) => c.it.callbacks.length > 0), { what: 'every vote answered', timeoutMs: 20_000 });

    // Each voter got their own ephemeral confirmation as the interaction's first response, quickly.
    const latencies = clicks.map((c) => c.it.callbacks[0]!.at - c.it.createdAt).sort((a, b) => a - b);
    for (const c of clicks) {
      assert.equal(c.it.callbacks[0]!.type, 4);
      assert.equal(c.it.callbacks[0]!.data.flags, 64);
      assert.match(c.it.callbacks[0]!.data.content, /^(Tu voto|Voto cambiado|Ya habías votado)/);
    }
    const maxLatency = latencies.at(-1)!;

    // Edits of the poll message during the storm: bounded by the rate limit (windows elapsed × limit, + 1).
    await fake.waitFor(() => fake.message(pollMsg.id).content.includes(`Votos emitidos: ${VOTERS} `), { what: 'the final count', timeoutMs: 20_000 });
    const settledMs = Date.now() - start;
    const edits = fake.requestsTo('PATCH', new RegExp(`^/channels/${fake.channelId}/messages/${pollMsg.id}$`)).filter((r) => r.status === 200).length - editsBefore;
    const bound = EDIT_RATE.limit * (Math.ceil(settledMs / EDIT_RATE.windowMs) + 1);

    // /reveal right after the storm: answered without waiting behind vote edits; the closed message has the tally.
    const expected = { A: [...last.values()].filter((c) => c === 'A').length, B: [...last.values()].filter((c) => c === 'B').length };
    const revealAt = Date.now();
    const rv = fake.slash('reveal', {}, teacher);
    const answer = await fake.waitFor(() => rv.original?.content.startsWith('🔍') && rv.original, { what: '/reveal answer', timeoutMs: 10_000 });
    const revealMs = Date.now() - revealAt;
    assert.ok(answer.content.includes(`Votos: Historia A ${expected.A} · Historia B ${expected.B}.`), answer.content);
    await fake.waitFor(() => fake.message(pollMsg.id).content.endsWith('🔒 Votación cerrada.'), { what: 'poll closed in place', timeoutMs: 15_000 });
    const closed = fake.message(pollMsg.id);
    assert.ok(closed.content.includes(`Votos: Historia A ${expected.A} · Historia B ${expected.B}`), closed.content);
    assert.deepEqual(closed.components, []);

    // One row per student; a changed vote counts once, with its last choice.
    const store = bot!.services.store;
    assert.deepEqual(await store.tally(1), { ...expected, total: VOTERS });
    for (const u of users) assert.equal(await store.getVote(1, u.id), last.get(u.id));

    const report = {
      clicks: clicks.length, voters: VOTERS, changed: CHANGERS, stormMs, settledMs,
      confirmMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: maxLatency },
      pollEdits: edits, editBound: bound, editRequests: bot!.services.pollMessages.stats, http429: fake.rateLimitedEdits, revealMs,
    };
    console.log(`click-storm report: ${JSON.stringify(report)}`);
    assert.ok(maxLatency <= 1000, `slowest confirmation ${maxLatency} ms (p95 ${report.confirmMs.p95} ms)`);
    assert.ok(edits <= bound, `${edits} edits for ${clicks.length} clicks; the rate allows ${bound}`);
    assert.ok(edits >= 2, 'the count was updated during the storm');
    assert.ok(revealMs < 2000, `/reveal took ${revealMs} ms`);
  });
});

describe('a 429 from Discord: discord.js waits retry_after and the coalesced edit still lands', { timeout: 60_000 }, () => {
  test('200 votes in 2 s with a limit discord.js only learns from 429 replies', async () => {
    const fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], editRate: { limit: 2, windowMs: 1000, announce: false } });
    const data = tmpDataDir();
    const logs: string[] = [];
    const teacher: Actor = { user: fake.user('profe'), roles: [TEACHER_ROLE] };
    let running: RunningBot | undefined;
    try {
      await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
      const res = await startBot({
        env: { DISCORD_API_URL: fake.api, DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE, DATA_DIR: data.dir, PROGRESS_INTERVAL_MS: '1000' },
        write: (l) => logs.push(l),
        createCompute: ({ clock }) => createLocalCompute(new FakeEngine({ steps: 1 }), clock),
      text: new FakeEngine(),
      });
      assert.equal(res.code, 0, logs.join('\n'));
      running = res.bot;
      fake.slash('train', { lines: 5 }, teacher);
      const poll = await fake.waitFor(() => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:1:A')), { what: 'the poll' });
      await fake.settle(300);
      const its: FakeInteraction[] = [];
      for (let i = 0; i < 200; i++) {
        its.push(fake.click(poll, `vote:1:${i % 2 ? 'A' : 'B'}`, { user: fake.user(`kid${i}`) }));
        await new Promise((r) => setTimeout(r, 10));
      }
      await fake.waitFor(() => fake.message(poll.id).content.includes('Votos emitidos: 200 '), { what: 'the final count', timeoutMs: 15_000 });
      assert.ok(fake.rateLimitedEdits > 0, 'Discord answered 429 at least once');
      const slowest = Math.max(...its.map((it) => it.callbacks[0]!.at - it.createdAt));
      assert.ok(slowest <= 1000, `slowest confirmation ${slowest} ms`);
      console.log(`429 report: ${JSON.stringify({ http429: fake.rateLimitedEdits, slowestConfirmMs: slowest, edits: fake.requestsTo('PATCH', new RegExp(`/messages/${poll.id}$`)).filter((r) => r.status === 200).length })}`);
    } finally {
      await running?.stop();
      await fake.close();
      data.remove();
    }
  });
});
