/**
 * The bot never waits for the model. The real bot (compute child process, real engine) trains the mini Spanish
 * GPT-2 on wasm, whose optimizer steps each block for seconds; meanwhile a /story, three vote clicks and a
 * /status arrive. Every one is acknowledged within the platform's 3 s (the fakes refuse later acks), the bot's
 * event loop stays free, and on Discord the Gateway heartbeats keep their rhythm. Then, with the compute process
 * killed (SIGKILL) in the middle of a training, the bot stays up: the run fails with a message to the class, the
 * story that was waiting runs on the new compute process, and no vote or run row is lost.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ProcessCompute } from '../bot/compute/process-transport.ts';
import type { RunningBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type FakeInteraction } from './helpers/fake-discord.ts';
import { FakeSlack } from './helpers/fake-slack.ts';
import { e2eEnv, missingBook, SHARED_DIR, startE2EBot, tmpDataDir } from './helpers/e2e.ts';

const MINI = path.join(SHARED_DIR, 'models', 'es-novelas-mini');
const skip = missingBook || (existsSync(path.join(MINI, 'model.safetensors')) ? false : `needs the mini model at ${MINI} (set QUIJOTE_SHARED)`);
const ACK_MS = 3000;
const LONG = 240_000;

/** The mini model on wasm: one micro-batch of 2 × 128 tokens per optimizer step, a few seconds of solid compute. */
function miniEnv(dir: string, platformEnv: Record<string, string>): Record<string, string> {
  return { ...e2eEnv(dir, platformEnv), QUIJOTE_MODEL: MINI, LR: '0.0005', EPOCHS: '1', GRAD_ACCUM: '1', EVAL_LINES: '20', MAX_NEW_TOKENS: '24', PROGRESS_INTERVAL_MS: '1' };
}

/** Event-loop delay of this process (the bot's) over a stretch of the test. */
function loopMonitor() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return { stop: () => (h.disable(), { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }) };
}

describe('Discord: the bot answers while the mini model trains', { skip, timeout: LONG }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const TEACHER_ROLE = 'Profesor';
  const teacher = () => ({ user: fake.user('profe'), roles: [TEACHER_ROLE] });
  const student = (n: number) => ({ user: fake.user(`alumno${n}`), roles: [] });
  const progressOf = (run: number) => fake.messages().find((m) => m.content.startsWith(`🏋️ Entrenamiento #${run}`));
  const pollOf = (id: number) => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${id}:A`));
  const wait = <T>(what: string, f: () => T | undefined | null | false) => fake.waitFor(f, { what, timeoutMs: LONG });

  /** Resolves with how long the interaction took to get its first response (the acknowledgement). */
  async function ackTime(it: FakeInteraction, what: string): Promise<number> {
    await fake.waitFor(() => it.callbacks.length > 0, { what: `the ack of ${what}`, timeoutMs: ACK_MS + 1000 });
    return Date.now() - it.createdAt;
  }

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], heartbeatIntervalMs: 1000 });
    data = tmpDataDir();
    const env = miniEnv(data.dir, { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE, DISCORD_API_URL: fake.api });
    const { deployCommands } = await import('../bot/discord/index.ts');
    const { commands } = await import('../commands/index.ts');
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    ({ bot } = await startE2EBot(env));
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('/story, three votes and /status during a training are all acknowledged in time; heartbeats go on', async (t) => {
    // A first, short training gives the class a model and a poll to vote on.
    fake.slash('train', { lines: 8 }, teacher());
    const poll = await wait('the first poll', () => pollOf(1));

    const second = fake.slash('train', { lines: 60 }, teacher());
    assert.ok((await ackTime(second, '/train')) < ACK_MS);
    await wait('the second training to be past its first optimizer step', () => /Paso [1-9]\d*\//.test(progressOf(2)?.content ?? '') && progressOf(2));
    const monitor = loopMonitor();
    const gateway = fake.gateway.connections.find((c) => c.identify && !c.closed)!;
    const beatsBefore = gateway.heartbeatTimes.length;
    const t0 = Date.now();

    const acks: Record<string, number> = {};
    const story = fake.slash('story', { prompt: 'En un lugar de la Mancha' }, student(1));
    acks.story = await ackTime(story, '/story');
    for (const n of [1, 2, 3]) {
      const click = fake.click(poll, `vote:1:${n === 2 ? 'B' : 'A'}`, student(n));
      acks[`vote${n}`] = await ackTime(click, `vote ${n}`);
    }
    const status = fake.slash('status', {}, student(4));
    acks.status = await ackTime(status, '/status');
    const statusText = await fake.waitFor(() => status.original?.content, { what: '/status reply', timeoutMs: ACK_MS });
    assert.match(statusText, /En marcha: #\w+ entrenamiento/);

    const storyPoll = await wait('the story poll, generated between two training steps', () => pollOf(2));
    assert.ok(progressOf(2) && !/terminado/.test(progressOf(2)!.content), 'the story was posted while the training was still running');
    await wait('the end of the second training', () => fake.messages().find((m) => m.content.startsWith('✅ Entrenamiento #2')));
    const lag = monitor.stop();
    const beats = gateway.heartbeatTimes.slice(beatsBefore);
    const gaps = beats.slice(1).map((b, i) => b - beats[i]!);
    t.diagnostic(`ack ms ${JSON.stringify(acks)}; event loop max ${lag.maxMs.toFixed(0)} ms, p99 ${lag.p99Ms.toFixed(0)} ms; ` +
      `${beats.length} heartbeats in ${((Date.now() - t0) / 1000).toFixed(1)} s, largest gap ${Math.max(...gaps)} ms`);
    for (const [what, ms] of Object.entries(acks)) assert.ok(ms < ACK_MS, `${what} acknowledged after ${ms} ms`);
    assert.ok(lag.maxMs < 1000, `the bot's event loop was blocked for ${lag.maxMs} ms`);
    assert.ok(beats.length >= 3 && Math.max(...gaps) < 2500, `heartbeats every ~1 s, gaps ${gaps.join(', ')}`);
    assert.equal(gateway.closed, false);
    assert.ok(storyPoll);
    assert.deepEqual(await bot!.services.store.tally(1), { A: 2, B: 1, total: 3 });
  });

  test('the compute process killed mid-training: the bot stays up, the class is told, the waiting story runs, nothing is lost', async () => {
    const s = bot!.services;
    const compute = s.compute as ProcessCompute;
    const runsBefore = (await s.store.listRuns((await s.store.findClass({ platform: 'discord', teamId: fake.guildId, channelId: fake.channelId }))!.id)).length;
    fake.slash('train', { lines: 60 }, teacher());
    await wait('the third training to be running', () => /Paso [1-9]\d*\//.test(progressOf(3)?.content ?? '') && progressOf(3));
    const story = fake.slash('story', { prompt: 'Érase una vez un hidalgo' }, student(5));
    await fake.waitFor(() => story.callbacks.length > 0, { what: 'the /story ack', timeoutMs: ACK_MS });
    const pid = compute.transport.pid()!;
    process.kill(pid, 'SIGKILL');

    const failed = await wait('the training marked failed', () => fake.messages().find((m) => /Entrenamiento #3.*(falló|no pudo)/s.test(m.content)));
    assert.match(failed.content, /proceso de cálculo se detuvo/);
    await wait('the waiting story, run on the new compute process', () => pollOf(3));
    assert.notEqual(compute.transport.pid(), pid);
    const cls = (await s.store.findClass({ platform: 'discord', teamId: fake.guildId, channelId: fake.channelId }))!;
    const runs = await s.store.listRuns(cls.id);
    assert.equal(runs.length, runsBefore + 1);
    assert.equal(runs.find((r) => r.id === 3)!.status, 'failed');
    assert.equal((await s.store.latestDoneRun(cls.id))!.id, 2, 'the class keeps its last good model');
    assert.deepEqual(await s.store.tally(1), { A: 2, B: 1, total: 3 }, 'no vote lost');
    // The bot still answers.
    const status = fake.slash('status', {}, student(6));
    await fake.waitFor(() => status.original?.content, { what: '/status after the crash', timeoutMs: ACK_MS });
    assert.equal((globalThis as { _tfengine?: unknown })._tfengine, undefined, 'TensorFlow.js never loaded in the bot process');
  });
});

describe('Slack: the bot acknowledges within 3 s while the mini model trains', { skip, timeout: LONG }, () => {
  let fake: FakeSlack;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const TEACHER = 'U0PROFE';
  const CHANNEL = 'C0CLASE';
  const wait = <T>(what: string, f: () => T | undefined | null | false) => fake.waitFor(f, what, LONG);
  const posts = () => fake.calls('chat.postMessage');
  const pollTs = (n: number) => posts().filter((c) => (c.args.blocks ?? []).some((b: any) => b.type === 'actions' && b.elements.some((e: any) => /^vote:/.test(e.action_id))))[n - 1]?.result?.ts as string | undefined;
  const progressText = (run: number) => fake.calls('chat.update').map((c) => String(c.args.text)).filter((x) => x.includes(`Entrenamiento #${run}`)).at(-1) ?? '';

  before(async () => {
    fake = await FakeSlack.start({ botToken: 'xoxb-e2e', appToken: 'xapp-e2e' });
    data = tmpDataDir();
    ({ bot } = await startE2EBot(miniEnv(data.dir, { SLACK_BOT_TOKEN: 'xoxb-e2e', SLACK_APP_TOKEN: 'xapp-e2e', SLACK_TEACHERS: TEACHER, SLACK_API_URL: fake.apiUrl })));
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  const timed = async (what: string, p: Promise<unknown>, acks: Record<string, number>) => {
    const t0 = Date.now();
    await p;
    acks[what] = Date.now() - t0;
  };

  test('/story, three votes and /quijote-status during a training: every ack within 3 s', async (t) => {
    await fake.slash('/train', 'lines:8', { userId: TEACHER, channelId: CHANNEL });
    const poll = await wait('the first poll', () => pollTs(1));
    await fake.slash('/train', 'lines:60', { userId: TEACHER, channelId: CHANNEL });
    await wait('the second training past its first step', () => /Paso [1-9]\d*\//.test(progressText(2)));
    const monitor = loopMonitor();
    const acks: Record<string, number> = {};
    await timed('story', fake.slash('/story', 'En un lugar de la Mancha', { userId: 'U0ALUMNA1', channelId: CHANNEL }), acks);
    for (const n of [1, 2, 3]) await timed(`vote${n}`, fake.click(poll, `vote:1:${n === 2 ? 'B' : 'A'}`, `U0ALUMNA${n}`), acks);
    await timed('status', fake.slash('/quijote-status', '', { userId: 'U0ALUMNA4', channelId: CHANNEL }), acks);
    await wait('the story poll', () => pollTs(2));
    assert.ok(!/terminado/.test(progressText(2)), 'the story was posted while the training was still running');
    const lag = monitor.stop();
    t.diagnostic(`ack ms ${JSON.stringify(acks)}; event loop max ${lag.maxMs.toFixed(0)} ms, p99 ${lag.p99Ms.toFixed(0)} ms`);
    for (const [what, ms] of Object.entries(acks)) assert.ok(ms < ACK_MS, `${what} acknowledged after ${ms} ms`);
    assert.ok(lag.maxMs < 1000, `the bot's event loop was blocked for ${lag.maxMs} ms`);
    await wait('the end of the second training', () => /terminado/.test(progressText(2)));
    assert.deepEqual(await bot!.services.store.tally(1), { A: 2, B: 1, total: 3 });
  });
});
