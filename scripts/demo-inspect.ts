/**
 * A classroom demo of the model views through the REAL bot (compute process, real engine) on a given model,
 * against the loopback fake Discord of the tests: /train, /story, /reveal (memorization meter, «Palabras»,
 * «Película»), /palabras, /siguiente and one pick, /story intensidad:0.5, /atencion. Every picture and message
 * is written to --out (PNG + messages.md) with the time each view took.
 *
 *   node --import tsx scripts/demo-inspect.ts --model ../shared/models/es-novelas-mini --text ../shared/data/pg2000-don-quijote.txt --lines 200 --out tmp/demo
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commands } from '../commands/index.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { startBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type FakeInteraction, type FakeMessage } from '../test/helpers/fake-discord.ts';
import { e2eEnv, tmpDataDir } from '../test/helpers/e2e.ts';

const { values: a } = parseArgs({ options: {
  model: { type: 'string' }, text: { type: 'string' }, lines: { type: 'string', default: '200' }, epochs: { type: 'string', default: '2' },
  lr: { type: 'string', default: '0.0001' }, out: { type: 'string', default: 'tmp/demo' },
} });
if (!a.model || !a.text) { console.error('uso: --model DIR --text LIBRO.txt [--lines N] [--out DIR]'); process.exit(2); }
const out = resolve(a.out!);
mkdirSync(out, { recursive: true });
const LONG = 30 * 60_000;
const fake = await FakeDiscord.start({ roles: [{ name: 'Profesor' }] });
const data = tmpDataDir();
const env = {
  ...e2eEnv(data.dir, { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE: 'Profesor', DISCORD_API_URL: fake.api }),
  QUIJOTE_MODEL: resolve(a.model), QUIJOTE_TEXT: resolve(a.text), EPOCHS: a.epochs!, LR: a.lr!, GRAD_ACCUM: '4', EVAL_LINES: '200', MAX_NEW_TOKENS: '160', PROGRESS_INTERVAL_MS: '5000',
};
await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
const logs: string[] = [];
const started = await startBot({ env, write: (l) => logs.push(l) });
if (started.code !== 0) { console.error(logs.join('\n')); process.exit(1); }
const bot = started.bot!;
const teacher = { user: fake.user('profe'), roles: ['Profesor'], nick: 'Profe Ana' };
const student = { user: fake.user('luis'), roles: [] };
const wait = <T>(what: string, f: () => T | undefined | null | false) => fake.waitFor(f, { what, timeoutMs: LONG });
const md: string[] = [`# Demo de las vistas del modelo (${a.model}, ${a.lines} líneas, ${a.epochs} épocas)`, ''];
const timings: Record<string, number> = {};

function save(name: string, m: FakeMessage, ms: number): void {
  timings[name] = ms;
  md.push(`## ${name} (${(ms / 1000).toFixed(1)} s)`, '', m.content, '');
  for (const at of m.attachments) {
    writeFileSync(join(out, at.filename), at.data);
    md.push(`![${at.description ?? ''}](${at.filename})`, '', `_alt:_ ${at.description ?? ''}`, '');
  }
  if (m.components.length) md.push(`_botones:_ ${buttonsOf(m).map((b) => b.label).join(' · ')}`, '');
}
const withImage = (it: FakeInteraction) => [it.original, ...it.followups].find((m) => m && m.attachments.length > 0);
async function timed(name: string, start: () => FakeInteraction, done: (it: FakeInteraction) => FakeMessage | undefined | false): Promise<FakeMessage> {
  const t0 = Date.now();
  const it = start();
  const m = await wait(name, () => done(it));
  save(name, m, Date.now() - t0);
  return m;
}

try {
  const t0 = Date.now();
  fake.slash('train', { lines: Number(a.lines) }, teacher);
  const results = await wait('the training', () => fake.messages().find((m) => m.content.includes('Perplejidad:')));
  await wait('the meter after /train', () => fake.messages().find((m) => m.content.startsWith('📏')));
  save('/train', results, Date.now() - t0);
  save('/train: medidor (a ciegas)', fake.messages().find((m) => m.content.startsWith('📏'))!, 0);
  const st = fake.slash('story', { prompt: 'En un lugar de la Mancha' }, student);
  await wait('/story', () => st.original?.content.startsWith('Votación #2'));
  const rv = fake.slash('reveal', {}, teacher);
  const reveal = await wait('/reveal', () => rv.original?.content.startsWith('🔍') && rv.original);
  save('/reveal (con el medidor de memorización)', reveal, 0);
  await timed('«Palabras»', () => fake.click(reveal, 'words:2', student), withImage);
  await timed('«Película»', () => fake.click(reveal, 'film:p2', student), withImage);
  await timed('/palabras', () => fake.slash('palabras', { texto: 'Dijo don Quijote a Sancho que vuestra merced era un hidalgo de la Mancha.' }, student), withImage);
  const bars = await timed('/siguiente', () => fake.slash('siguiente', { prompt: 'En un lugar de la Mancha, de cuyo nombre no quiero', temperatura: 0.9 }, student), withImage);
  const before = fake.message(bars.id).content;
  const t1 = Date.now();
  fake.click(bars, buttonsOf(bars)[0]!.custom_id, student);
  await wait('the pick', () => fake.message(bars.id).content !== before);
  save('/siguiente, tras elegir la 1', fake.message(bars.id), Date.now() - t1);
  await timed('/story intensidad:0.5', () => fake.slash('story', { prompt: 'En un lugar de la Mancha', intensidad: 0.5 }, student), (it) => it.original?.content.startsWith('🎚️') && it.original);
  await timed('/atencion', () => fake.slash('atencion', { texto: 'El ingenioso hidalgo salió de su aldea y dijo a Sancho que le siguiese', palabra: 'siguiese' }, student), withImage);
  writeFileSync(join(out, 'messages.md'), md.join('\n') + '\n');
  console.log(JSON.stringify({ out, timings }));
} finally {
  await bot.stop();
  await fake.close();
  data.remove();
}
