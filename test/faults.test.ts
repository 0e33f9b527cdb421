/**
 * Faults: process guards (an unhandled rejection inside a command's background work leaves the bot answering;
 * a broken process exits to be restarted), and the Discord posting faults through the real discord.js client:
 * a connection reset is retried, a missing permission is named in Spanish and leaves no open poll, and a member
 * with only the teacher role sees and runs /train.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { installProcessGuards, survivable } from '../bot/process-guards.ts';
import { startBot, type RunningBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type Actor } from './helpers/fake-discord.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { tmpDataDir } from './helpers/e2e.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const TEACHER_ROLE = 'Profesor';

test('process guards: a rejection is logged and the bot stays up; a socket reset too; anything else stops and exits 1', async () => {
  const proc = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  let stopped = 0;
  const remove = installProcessGuards({ log: (l) => lines.push(l), exit: (c) => exits.push(c), stop: async () => void stopped++, proc: proc as never });
  proc.emit('unhandledRejection', new Error('ENOSPC: no space left on device'));
  proc.emit('uncaughtException', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  assert.deepEqual(exits, []);
  assert.match(lines[0]!, /unhandled rejection \(the bot stays up\): Error: ENOSPC/);
  assert.match(lines[1]!, /uncaught exception ECONNRESET \(the bot stays up\)/);
  proc.emit('uncaughtException', new TypeError('cannot read properties of undefined'));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(exits, [1]);
  assert.equal(stopped, 1);
  assert.match(lines[2]!, /stopping so that the supervisor restarts the bot: TypeError/);
  assert.equal(survivable(Object.assign(new Error('x'), { code: 'EPIPE' })), true);
  assert.equal(survivable(new Error('x')), false);
  remove();
  assert.equal(proc.listenerCount('unhandledRejection') + proc.listenerCount('uncaughtException'), 0);
});

test('an injected rejection in a /story\'s background work: the real bot (child process, guards as in npm start) keeps answering', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'helpers', 'guarded-bot.ts')], {
    cwd: path.resolve(here, '..'), timeout: 60_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
  assert.ok(out.guardLog.some((l: string) => /unhandled rejection \(the bot stays up\): Error: ENOSPC/.test(l)), JSON.stringify(out.guardLog));
  assert.equal(out.story, 'Votación #2 publicada. ¡A votar!');
  assert.match(out.status, /^📋 Trabajos esperando: 0\./);
});

describe('Discord posting faults through discord.js', { timeout: 60_000 }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const logs: string[] = [];
  let teacher: Actor;

  async function start(f: FakeDiscord, d: ReturnType<typeof tmpDataDir>): Promise<RunningBot> {
    await deployCommands({ token: f.token, appId: f.appId, guildId: f.guildId, commands, rest: { api: f.api } });
    const res = await startBot({
      env: { DISCORD_API_URL: f.api, DISCORD_TOKEN: f.token, DISCORD_APP_ID: f.appId, DISCORD_GUILD_ID: f.guildId, TEACHER_ROLE, DATA_DIR: d.dir, PROGRESS_INTERVAL_MS: '1000' },
      write: (l) => logs.push(l),
      createCompute: ({ clock }) => createLocalCompute(new FakeEngine({ steps: 1 }), clock),
      text: new FakeEngine(),
    });
    assert.equal(res.code, 0, logs.join('\n'));
    return res.bot!;
  }

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }] });
    data = tmpDataDir();
    bot = await start(fake, data);
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE] }; // the role only: no Manage Guild
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('/train and /reveal are registered visible; a member with only the teacher role runs /train', async () => {
    for (const name of ['train', 'reveal']) {
      assert.equal(fake.commands(fake.guildId).find((c) => c.name === name)!.default_member_permissions, null);
    }
    const it = fake.slash('train', { lines: 5 }, teacher);
    await fake.waitFor(() => it.original?.content.startsWith('Entrenamiento #1 aceptado'), { what: '/train accepted' });
    await fake.waitFor(() => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:1:A')), { what: 'poll #1' });
    const student = fake.slash('train', { lines: 5 }, { user: fake.user('luis') });
    await fake.waitFor(() => student.original, { what: 'student refused' });
    assert.match(student.original!.content, /Solo el profesorado/);
    assert.equal(student.original!.ephemeral, true);
  });

  test('a connection reset while posting the poll is retried: one poll message', async () => {
    const before = fake.messages().length;
    fake.resetNext('POST', new RegExp(`^/channels/${fake.channelId}/messages$`));
    const it = fake.slash('story', { prompt: 'Érase una vez' }, { user: fake.user('ana') });
    await fake.waitFor(() => it.original?.content === 'Votación #2 publicada. ¡A votar!', { what: '/story posted', timeoutMs: 10_000 });
    const resets = fake.requests.filter((r) => r.status === 0);
    assert.equal(resets.length, 1);
    const polls = fake.messages().slice(before).filter((m) => buttonsOf(m).some((b) => b.custom_id === 'vote:2:A'));
    assert.equal(polls.length, 1);
    assert.equal((await bot!.services.store.getPoll(2))!.messageId, polls[0]!.id);
  });

  test('without Send Messages: /story names the missing permission in Spanish and leaves no open poll', async () => {
    const noSend = PermissionsBitField.All & ~PermissionFlagsBits.SendMessages;
    const f2 = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], botPermissions: noSend });
    const d2 = tmpDataDir();
    const b2 = await start(f2, d2);
    try {
      const s = b2.services;
      const cls = await s.store.ensureClass({ platform: 'discord', teamId: f2.guildId, channelId: f2.channelId });
      const run = await s.store.createRun({ classId: cls.id, params: { lines: 5, epochs: 1, lr: 1e-4 }, teacherId: 'x' });
      await s.store.completeRun(run.id, { metrics: { method: 'full', evalLossBefore: 4, evalLossAfter: 3, perplexityBefore: 54, perplexityAfter: 20, optimizerSteps: 1, seconds: 1 }, lossCurve: [], modelDir: d2.dir });
      const it = f2.slash('story', { prompt: 'Érase una vez' }, { user: f2.user('ana') });
      const answer = await f2.waitFor(() => f2.interactions.find((x) => x === it) && [it.original, ...it.followups].find((m) => m && /permiso/.test(m.content)), { what: 'the refusal', timeoutMs: 10_000 });
      assert.match(answer!.content, /al bot le falta el permiso «Enviar mensajes»\. Pide a quien administra el servidor que se lo dé en este canal/);
      assert.equal(await s.store.latestOpenPoll(cls.id), undefined);
      assert.deepEqual(await s.store.listPolls(cls.id), []);
      const rv = f2.slash('reveal', {}, { user: f2.user('profe'), roles: [TEACHER_ROLE] });
      await f2.waitFor(() => rv.original, { what: '/reveal' });
      assert.match(rv.original!.content, /No hay ninguna votación abierta/);
    } finally {
      await b2.stop();
      await f2.close();
      d2.remove();
    }
  });
});
