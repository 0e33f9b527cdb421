/**
 * How deaf is the bot while a class trains? Starts the real bot (bot/start.ts) against the loopback fake Discord,
 * runs a whole `/train lines:N` plus two `/story` during it, and measures in the bot's process:
 *  - the event-loop delay (perf_hooks.monitorEventLoopDelay), max and p99, over the whole scenario;
 *  - each /story click's time to its interaction acknowledgement (the fake's 3 s limit is lifted to see it);
 *  - the training's tokens/s as the run's training_summary.json records it.
 *
 *   node --import tsx bench/bot-lag.ts --model DIR [--compute process|inline] [--lines 100] [--json]
 *
 * `--compute process` (default, `npm start`): tensor work in the compute child process.
 * `--compute inline`: the engine in the bot's own process, as before the compute process existed (the "before").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startBot } from '../bot/start.ts';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { createLocalCompute } from '../core/jobs/local-transport.ts';
import { createEngine } from '../core/pipeline/tfjs-engine.ts';
import { buttonsOf, FakeDiscord, type FakeInteraction } from '../test/helpers/fake-discord.ts';
import { tmpDataDir } from '../test/helpers/e2e.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    compute: { type: 'string', default: 'process' },
    lines: { type: 'string', default: '100' },
    text: { type: 'string', default: path.resolve(process.env.QUIJOTE_SHARED ?? '../shared', 'data/pg2000-don-quijote.txt') },
    json: { type: 'boolean', default: false },
  },
});
if (!a.model || !['process', 'inline'].includes(a.compute!)) {
  console.error('uso: node --import tsx bench/bot-lag.ts --model CARPETA [--compute process|inline] [--lines 100] [--json]');
  process.exit(2);
}

const fake = await FakeDiscord.start({ roles: [{ name: 'Profesor' }], ackTimeoutMs: 3_600_000 });
const data = tmpDataDir();
const env = {
  DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, DISCORD_API_URL: fake.api,
  DATA_DIR: data.dir, QUIJOTE_MODEL: path.resolve(a.model), QUIJOTE_TEXT: a.text!, QUIJOTE_BACKEND: 'wasm', HF_HUB_OFFLINE: '1',
};
await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
const logs: string[] = [];
const started = await startBot({
  env,
  write: (l) => logs.push(l),
  ...(a.compute === 'inline'
    ? { createCompute: ({ config, clock }) => createLocalCompute(createEngine(config, { now: () => clock.now(), log: (l) => logs.push(l) }), clock) }
    : {}),
});
if (started.code !== 0) throw new Error(`the bot did not start:\n${logs.join('\n')}`);
const bot = started.bot!;

const wait = <T>(what: string, f: () => T | undefined | null | false) => fake.waitFor(f, { what, timeoutMs: 3_600_000 });
const teacher = { user: fake.user('profe'), roles: ['Profesor'] };
const ackMs = async (it: FakeInteraction) => {
  await wait('an acknowledgement', () => it.callbacks.length > 0);
  return Date.now() - it.createdAt;
};

// A class that already has a model (so /story can run), trained with the same settings beforehand.
const h = monitorEventLoopDelay({ resolution: 10 });
const pollOf = (id: number) => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${id}:A`));
fake.slash('train', { lines: 10 }, teacher);
await wait('the first model and poll', () => pollOf(1));

const t0 = Date.now();
h.enable();
const trainIt = fake.slash('train', { lines: Number(a.lines) }, teacher);
const trainAck = await ackMs(trainIt);
await wait('the first optimizer step', () => fake.messages().some((m) => /^🏋️ Entrenamiento #2 .*\nPaso [1-9]/s.test(m.content)));
const storyAcks: number[] = [];
for (const prompt of ['En un lugar de la Mancha', 'Érase una vez un hidalgo']) {
  storyAcks.push(await ackMs(fake.slash('story', { prompt }, { user: fake.user(`alumno-${storyAcks.length}`) })));
}
await wait('the end of the training', () => fake.messages().some((m) => m.content.startsWith('✅ Entrenamiento #2')));
await wait('both story polls and the automatic poll', () => pollOf(4));
h.disable();
const seconds = (Date.now() - t0) / 1000;

const run = (await bot.services.store.getRun(2))!;
const summary = JSON.parse(readFileSync(path.join(run.modelDir!, 'training_summary.json'), 'utf8'));
const result = {
  compute: a.compute,
  model: path.basename(path.resolve(a.model)),
  lines: Number(a.lines),
  seconds,
  eventLoop: { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6 },
  ackMs: { train: trainAck, stories: storyAcks },
  trainTokensPerSecond: summary.metrics.tokens_per_second,
  trainSeconds: summary.metrics.seconds,
  optimizerSteps: summary.metrics.optimizer_steps,
};
await bot.stop();
await fake.close();
data.remove();
if (a.json) console.log(JSON.stringify(result));
else {
  console.log(`${result.model}, /train lines:${result.lines} + 2 /story, compute=${result.compute}: ${seconds.toFixed(0)} s`);
  console.log(`  bucle de eventos del bot: máx ${result.eventLoop.maxMs.toFixed(0)} ms, p99 ${result.eventLoop.p99Ms.toFixed(0)} ms`);
  console.log(`  /story → acuse: ${storyAcks.map((x) => `${x} ms`).join(', ')}; /train → acuse ${trainAck} ms`);
  console.log(`  entrenamiento: ${result.trainTokensPerSecond.toFixed(1)} tokens/s (${result.optimizerSteps} pasos en ${result.trainSeconds.toFixed(1)} s)`);
}
process.exit(0);
