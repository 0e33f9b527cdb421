/**
 * A class of 30 floods the queue while another class trains — through the REAL discord.js client on the fake
 * Discord, with the real commands, store, compute client and GPU queue (a fake engine whose stories take 150 ms
 * per generation and whose training steps take 40 ms).
 *
 * 50 /story from 30 students of class A within 10 s while class B trains: every request is acknowledged within
 * 3 s; accepted ones show their queue position; refusals are the right ones (2 waiting per person, the queue cap);
 * class B's training keeps advancing, with at most one of class A's stories between two of its steps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { startBot, type RunningBot } from '../bot/start.ts';
import type { GpuSlice, StoryResult, TrainOptions, TrainParams, TrainResult } from '../core/engine.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { buttonsOf, FakeDiscord, type Actor, type FakeInteraction, type FakeUser } from './helpers/fake-discord.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { tmpDataDir } from './helpers/e2e.ts';

const TEACHER_ROLE = 'Profesor';
const QUEUE_MAX = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stories and training steps that take time, and a log of what ran on the GPU in which order. */
class SlowEngine extends FakeEngine {
  readonly log: { what: 'step' | 'story'; at: number; prompt?: string }[] = [];
  readonly storyStart = new Map<string, number>();

  override async story(prompt: string, modelDir: string | null, options: { seed?: number; slice?: GpuSlice } = {}): Promise<StoryResult> {
    if (modelDir !== null || !this.storyStart.has(prompt)) {
      if (!this.storyStart.has(prompt)) {
        this.storyStart.set(prompt, Date.now());
        this.log.push({ what: 'story', at: Date.now(), prompt });
      }
    }
    await sleep(150);
    return super.story(prompt, modelDir, options);
  }

  override async train(params: TrainParams, outDir: string, options: TrainOptions = {}): Promise<TrainResult> {
    const slice: GpuSlice = options.slice ?? ((fn) => fn());
    const slow: GpuSlice = (fn) => slice(async () => {
      this.log.push({ what: 'step', at: Date.now() });
      await sleep(40);
      return fn();
    });
    return super.train(params, outDir, { ...options, slice: slow });
  }
}

interface Request { k: number; user: FakeUser; prompt: string; it: FakeInteraction; at: number }

describe('queue under a flood: 50 /story from 30 students in 10 s while another class trains', { timeout: 120_000 }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const logs: string[] = [];
  const engine = new SlowEngine({ steps: 1 });
  let teacher: Actor;
  let chA: string;
  let chB: string;

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }], channels: ['clase-a', 'clase-b'] });
    chA = fake.channel('clase-a');
    chB = fake.channel('clase-b');
    data = tmpDataDir();
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE] };
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    const res = await startBot({
      env: {
        DISCORD_API_URL: fake.api, DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE,
        DATA_DIR: data.dir, PROGRESS_INTERVAL_MS: '200', QUEUE_MAX: String(QUEUE_MAX),
      },
      write: (l) => logs.push(l),
      createCompute: ({ clock }) => createLocalCompute(engine, clock),
      text: engine,
    });
    assert.equal(res.code, 0, logs.join('\n'));
    bot = res.bot;
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('acks within 3 s, positions shown, refusals correct, the other class keeps training', async () => {
    // Class A gets a model; then class B starts a long training.
    fake.slash('train', { lines: 5 }, { ...teacher, channelId: chA });
    await fake.waitFor(() => fake.messages(chA).find((m) => buttonsOf(m).some((b) => b.custom_id.startsWith('vote:'))), { what: 'class A poll', timeoutMs: 15_000 });
    engine.steps = 400;
    fake.slash('train', { lines: 6 }, { ...teacher, channelId: chB });
    await fake.waitFor(() => fake.messages(chB).find((m) => /Paso [1-9]/.test(m.content)), { what: 'class B training under way', timeoutMs: 15_000 });

    const users = Array.from({ length: 30 }, (_, i) => fake.user(`alumno${i}`));
    const plan: { user: FakeUser; at: number }[] = [];
    for (let i = 0; i < 10; i++) for (let j = 0; j < 3; j++) plan.push({ user: users[i]!, at: (i * 3 + j) * 50 }); // a burst: 30 in 1.5 s
    for (let i = 10; i < 30; i++) plan.push({ user: users[i]!, at: 1500 + (i - 10) * 420 }); // then one each until ~9.5 s
    const start = Date.now();
    const requests: Request[] = [];
    for (const [k, p] of plan.entries()) {
      const wait = start + p.at - Date.now();
      if (wait > 0) await sleep(wait);
      const prompt = `Cuento ${k} de ${p.user.username}`;
      requests.push({ k, user: p.user, prompt, it: fake.slash('story', { prompt }, { user: p.user, channelId: chA }), at: Date.now() });
    }
    const floodMs = Date.now() - start;
    await fake.waitFor(() => requests.every((r) => r.it.callbacks.length > 0), { what: 'every /story acknowledged', timeoutMs: 10_000 });
    const ackMs = requests.map((r) => r.it.callbacks[0]!.at - r.it.createdAt);

    const accepted = requests.filter((r) => r.it.callbacks[0]!.type === 5);
    const refused = requests.filter((r) => r.it.callbacks[0]!.type === 4);
    assert.equal(accepted.length + refused.length, 50);
    for (const r of refused) assert.equal(r.it.callbacks[0]!.data.flags, 64, 'refusals are ephemeral');
    const perUser = refused.filter((r) => /^Ya tienes 2 peticiones esperando turno \(el máximo por persona es 2\)/.test(r.it.callbacks[0]!.data.content));
    const full = refused.filter((r) => /^La cola está llena: hay \d+ trabajos esperando\. Vuelve a intentarlo dentro de unos \d+ min\.$/.test(r.it.callbacks[0]!.data.content));
    assert.equal(perUser.length + full.length, refused.length, refused.map((r) => r.it.callbacks[0]!.data.content).join('\n'));
    for (const r of full) assert.equal(Number(/hay (\d+) trabajos/.exec(r.it.callbacks[0]!.data.content)![1]), QUEUE_MAX);

    // Accepted ones show their position (edited into the deferred answer).
    await fake.waitFor(() => accepted.every((r) => r.it.original?.content.startsWith('✍️ Escribiendo') || r.it.original?.content.startsWith('Votación #')), { what: 'positions shown', timeoutMs: 20_000 });
    const positions = accepted.map((r) => {
      const edit = fake.requests.find((q) => q.method === 'PATCH' && q.path.includes(r.it.token) && /^✍️/.test(q.body?.content ?? ''));
      const m = /Posición en la cola: (\d+)\.|En marcha ahora mismo\./.exec(edit?.body.content ?? '');
      assert.ok(m, `position shown for ${r.prompt}: ${edit?.body.content}`);
      return m[1] ? Number(m[1]) : 0;
    });
    assert.ok(Math.max(...positions) > 1, `positions ${positions}`);

    // Per-person refusals are right: the student already had 2 accepted requests not yet started when asking.
    // Accepted ones are right too: fewer than 2 of their earlier ones were still waiting when they were answered.
    const startOf = (r: Request) => engine.storyStart.get(r.prompt) ?? Infinity;
    for (const r of requests) {
      const earlier = accepted.filter((x) => x.user.id === r.user.id && x.k < r.k);
      if (perUser.includes(r)) assert.ok(earlier.filter((x) => startOf(x) > r.at).length >= 2, `${r.prompt} refused with fewer than 2 waiting`);
      if (accepted.includes(r)) assert.ok(earlier.filter((x) => startOf(x) > r.it.callbacks[0]!.at).length <= 1, `${r.prompt} accepted with 2 waiting`);
    }
    assert.ok(perUser.length > 0 && full.length > 0, `both kinds of refusal happen (${perUser.length} per person, ${full.length} full)`);

    // Class B's training advanced during the flood, and took turns with class A's stories.
    const during = engine.log.filter((e) => e.at >= start && e.at <= start + floodMs);
    const steps = during.filter((e) => e.what === 'step').length;
    const stories = during.filter((e) => e.what === 'story').length;
    let run = 0;
    let worst = 0;
    for (const e of during) {
      run = e.what === 'story' ? run + 1 : 0;
      worst = Math.max(worst, run);
    }
    const report = {
      requests: 50, accepted: accepted.length, refusedPerUser: perUser.length, refusedFull: full.length, floodMs,
      ackMs: { max: Math.max(...ackMs), p50: ackMs.sort((a, b) => a - b)[25] }, maxPosition: Math.max(...positions),
      classBStepsDuringFlood: steps, classAStoriesDuringFlood: stories, mostStoriesBetweenTwoSteps: worst,
    };
    console.log(`queue-flood report: ${JSON.stringify(report)}`);
    assert.ok(Math.max(...ackMs) <= 3000, `slowest ack ${Math.max(...ackMs)} ms`);
    assert.ok(steps >= 20, `class B made ${steps} steps during the flood`);
    assert.ok(worst <= 1, `at most one story between two steps of class B (saw ${worst})`);

    // The teacher clears both queues so the test ends quickly.
    const ca = fake.slash('cancel', {}, { ...teacher, channelId: chA });
    const cb = fake.slash('cancel', {}, { ...teacher, channelId: chB });
    await fake.waitFor(() => ca.original && cb.original, { what: 'queues cleared' });
    assert.match(ca.original!.content, /^Cancelado: /);
    await bot!.services.compute.idle();
  });
});
