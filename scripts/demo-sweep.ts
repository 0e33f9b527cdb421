/**
 * A real /sweep through the REAL bot (compute process, real engine) on a given model, against the loopback fake
 * Discord of the tests: the teacher sweeps `lines`, the card arrives, then a few scripted students vote in each
 * value's blind poll (--votes, the same rule for every poll: they pick the story that copies more of the book, by
 * the memorization meter) and the teacher reveals them all, which posts the votes chart. Every message and picture
 * goes to --out (PNG + messages.md) with the measured numbers as JSON on stdout.
 *
 *   node --import tsx scripts/demo-sweep.ts --model ../shared/models/es-novelas-mini --text ../shared/data/pg2000-don-quijote.txt --values 50,200,500 --out tmp/sweep
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commands } from '../commands/index.ts';
import { measure } from '../commands/meter.ts';
import { pollStories } from '../commands/poll.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { startBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type FakeMessage } from '../test/helpers/fake-discord.ts';
import { e2eEnv, tmpDataDir } from '../test/helpers/e2e.ts';

const { values: a } = parseArgs({ options: {
  model: { type: 'string' }, text: { type: 'string' }, values: { type: 'string', default: '50,200,500' }, epochs: { type: 'string', default: '2' },
  lr: { type: 'string', default: '0.0001' }, votes: { type: 'string', default: '6' }, out: { type: 'string', default: 'tmp/sweep' },
} });
if (!a.model || !a.text) { console.error('uso: --model DIR --text LIBRO.txt [--values 50,200,500] [--votes N] [--out DIR]'); process.exit(2); }
const out = resolve(a.out!);
mkdirSync(out, { recursive: true });
const LONG = 60 * 60_000;
const fake = await FakeDiscord.start({ roles: [{ name: 'Profesor' }] });
const data = tmpDataDir();
const env = {
  ...e2eEnv(data.dir, { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE: 'Profesor', DISCORD_API_URL: fake.api }),
  QUIJOTE_MODEL: resolve(a.model), QUIJOTE_TEXT: resolve(a.text), EPOCHS: a.epochs!, LR: a.lr!, GRAD_ACCUM: '4', EVAL_LINES: '200', MAX_NEW_TOKENS: '160', PROGRESS_INTERVAL_MS: '10000',
};
await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
const logs: string[] = [];
const started = await startBot({ env, write: (l) => logs.push(l) });
if (started.code !== 0) { console.error(logs.join('\n')); process.exit(1); }
const bot = started.bot!;
const s = bot.services;
const teacher = { user: fake.user('profe'), roles: ['Profesor'], nick: 'Profe Ana' };
const wait = <T>(what: string, f: () => T | undefined | null | false) => fake.waitFor(f, { what, timeoutMs: LONG });
const md: string[] = [`# /sweep lines:${a.values} (${a.model}, ${a.epochs} épocas, lr ${a.lr})`, ''];

function save(title: string, m: FakeMessage): void {
  md.push(`## ${title}`, '', m.content, '');
  for (const at of m.attachments) {
    writeFileSync(join(out, at.filename), at.data);
    md.push(`![${at.description ?? ''}](${at.filename})`, '', `_alt:_ ${at.description ?? ''}`, '');
  }
}

try {
  const t0 = Date.now();
  const it = fake.slash('sweep', { lines: a.values! }, teacher);
  await wait('/sweep accepted', () => it.original?.content);
  md.push(`_respuesta a la docente:_ ${it.original!.content}`, '');
  const card = await wait('the sweep card', () => fake.messages().find((m) => m.content.includes('**Barrido #1 terminado**') && m.attachments.length > 0));
  const seconds = (Date.now() - t0) / 1000;
  save('La tarjeta del barrido', card);
  const cls = (await s.store.findClass({ platform: 'discord', teamId: fake.guildId, channelId: fake.channelId }))!;
  const runs = await s.store.sweepRuns(1);
  const polls = await s.store.listPolls(cls.id);
  const measured = [];
  for (const run of runs) {
    const poll = polls.find((p) => p.runId === run.id)!;
    const { a: sa, b: sb } = await pollStories(s, poll);
    const lines = await s.text.trainingLines(run.params.lines);
    const [tuned, base] = poll.finetunedChoice === 'A' ? [sa, sb] : [sb, sa];
    const memTuned = measure(tuned.text, lines).coverage;
    const memBase = measure(base.text, lines).coverage;
    measured.push({ run: run.id, lines: run.params.lines, poll: poll.id, ...run.metrics, memorization: memTuned, baseStoryMemorization: memBase });
    // the scripted class: each student picks the story that copies more of the book (ties: A)
    const pick = memTuned > memBase ? poll.finetunedChoice : memTuned < memBase ? (poll.finetunedChoice === 'A' ? 'B' : 'A') : 'A';
    const msg = fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${poll.id}:A`))!;
    for (let i = 0; i < Number(a.votes); i++) {
      const v = fake.click(msg, `vote:${poll.id}:${pick}`, { user: fake.user(`alumno${i}`), roles: [] });
      await fake.waitFor(() => v.callbacks.length > 0, { what: 'a vote' });
    }
  }
  for (const p of polls) {
    const rv = fake.slash('reveal', {}, teacher);
    await wait(`/reveal #${p.id}`, () => rv.original?.content.startsWith('🔍'));
  }
  const votes = await wait('the votes chart', () => fake.messages().find((m) => m.content.startsWith('🏆') && m.attachments.length > 0));
  save('Tras revelar la última votación', votes);
  writeFileSync(join(out, 'messages.md'), md.join('\n') + '\n');
  console.log(JSON.stringify({ out, seconds, runs: measured }, null, 1));
} finally {
  await bot.stop();
  await fake.close();
  data.remove();
}
