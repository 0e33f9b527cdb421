/**
 * The teacher's own text on /train, end to end: ONE real bot (startBot: compute child on the tiny golden GPT-2 and
 * the real Quijote) on both platforms at once — the real discord.js client against the fake Discord (an attached
 * file on its CDN) and the real Bolt app against the fake Slack (a file shared in the channel, passed as its link).
 * Bad files get their refusal and leave nothing behind; a good one trains mixed in, with both perplexities on the
 * results card, and the stored run names the text.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commands } from '../commands/index.ts';
import { formatNumber, formatPercent } from '../commands/messages.ts';
import { deployCommands } from '../bot/discord/index.ts';
import type { RunningBot } from '../bot/start.ts';
import { classDir } from '../core/store/paths.ts';
import type { RunRow } from '../core/store/types.ts';
import { teacherTextHash } from '../core/text/teacher-store.ts';
import { readTeacherText } from '../core/text/teacher-text.ts';
import { FakeDiscord, type Actor } from './helpers/fake-discord.ts';
import { FakeSlack } from './helpers/fake-slack.ts';
import { e2eEnv, missingBook, ML_TIMEOUT_MS, startE2EBot, tmpDataDir, TRAIN_LINES } from './helpers/e2e.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const TEXT = readFileSync(path.join(here, 'fixtures', 'texto-profesora.txt'));
const TEXT_LINES = (readTeacherText(TEXT) as { lines: string[] }).lines;
const EVAL_LINES = 100; // e2eEnv
const HELD = Math.min(EVAL_LINES, Math.floor(TEXT_LINES.length / 5));
const TEACHER_ROLE = 'Profesor';
const SLACK_TEACHER = 'U0PROFE';
const CHANNEL = 'C0CLASE';
const lines = (n: number) => Array.from({ length: n }, (_, i) => `Línea ${i + 1} de un texto de prueba.`).join('\n');

/** The bad files, each with what its refusal must say. */
const BAD: Array<{ name: string; data: Buffer; says: RegExp }> = [
  { name: 'quijote.txt', data: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), Buffer.from('quijote.txt')]), says: /^No he guardado «quijote\.txt»: es un archivo comprimido \(zip\) con otro nombre\./ },
  { name: 'apuntes.txt', data: Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj'), says: /^No he guardado «apuntes\.txt»: no es texto sino un archivo PDF\./ },
  { name: 'vacio.txt', data: Buffer.from(' \n\n\t\n'), says: /^No he guardado «vacio\.txt»: está vacío/ },
  { name: 'utf16.txt', data: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines(25), 'utf16le')]), says: /^No he guardado «utf16\.txt»: está en UTF-16\. Guárdalo como texto UTF-8/ },
  { name: 'windows.txt', data: Buffer.concat([Buffer.from(lines(25), 'latin1'), Buffer.from([0x93, 0x61, 0x94])]), says: /^No he guardado «windows\.txt»: no está ni en UTF-8 ni en Latin-1/ },
  { name: 'corto.txt', data: Buffer.from(lines(19)), says: /^No he guardado «corto\.txt»: tiene 19 líneas con texto y hacen falta al menos 20\.$/ },
];

describe('teacher texts on /train, end to end on Discord and Slack', { skip: missingBook, timeout: 180_000 }, () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  let teacher: Actor;
  let discordPlace: { platform: 'discord'; teamId: string; channelId: string };
  const slackPlace = () => ({ platform: 'slack' as const, teamId: slack.teamId, channelId: CHANNEL });
  const ephemeralsTo = (user: string) => slack.calls('chat.postEphemeral').filter((c) => c.args.user === user);

  /** Runs the class made, and every teacher text stored for it (nothing of either after a refusal). */
  async function leftBehind(place: { platform: 'discord' | 'slack'; teamId: string; channelId: string }): Promise<{ runs: RunRow[]; texts: string[] }> {
    const s = bot!.services;
    const cls = await s.store.findClass(place);
    const dir = path.join(classDir(data.dir, place), 'textos');
    return { runs: cls ? await s.store.listRuns(cls.id) : [], texts: existsSync(dir) ? readdirSync(dir) : [] };
  }

  async function discordTrain(options: Record<string, string | number | ReturnType<FakeDiscord['attachment']>>): Promise<string> {
    const it = discord.slash('train', options, teacher);
    const answer = await discord.waitFor(() => (it.original?.content ? it.original : undefined), { what: '/train answered' });
    assert.equal(answer.ephemeral, true, 'only the teacher sees it');
    return answer.content;
  }

  async function slackTrain(text: string): Promise<string> {
    const seen = ephemeralsTo(SLACK_TEACHER).length;
    await slack.slash('/train', text, { userId: SLACK_TEACHER, userName: 'profe', channelId: CHANNEL });
    return (await slack.waitFor(() => ephemeralsTo(SLACK_TEACHER)[seen], '/train answered')).args.text as string;
  }

  before(async () => {
    discord = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }] });
    slack = await FakeSlack.start({ botToken: 'xoxb-e2e', appToken: 'xapp-e2e' });
    data = tmpDataDir();
    const env = e2eEnv(data.dir, {
      DISCORD_TOKEN: discord.token, DISCORD_APP_ID: discord.appId, DISCORD_GUILD_ID: discord.guildId, TEACHER_ROLE, DISCORD_API_URL: discord.api,
      SLACK_BOT_TOKEN: 'xoxb-e2e', SLACK_APP_TOKEN: 'xapp-e2e', SLACK_TEACHERS: SLACK_TEACHER, SLACK_API_URL: slack.apiUrl,
    });
    teacher = { user: discord.user('profe'), roles: [TEACHER_ROLE], nick: 'Profe Ana' };
    discordPlace = { platform: 'discord', teamId: discord.guildId, channelId: discord.channelId };
    await deployCommands({ token: discord.token, appId: discord.appId, guildId: discord.guildId, commands, rest: { api: discord.api } });
    ({ bot } = await startE2EBot(env));
  });

  after(async () => {
    await bot?.stop();
    await discord?.close();
    await slack?.close();
    data?.remove();
  });

  test('Discord registers /train archivo as an attachment option, texto as a string and mezcla as 0–100', () => {
    const train = discord.commands(discord.guildId).find((c) => c.name === 'train');
    const opt = (name: string) => train.options.find((o: { name: string }) => o.name === name);
    assert.equal(opt('archivo').type, 11);
    assert.equal(opt('texto').type, 3);
    assert.deepEqual([opt('mezcla').type, opt('mezcla').min_value, opt('mezcla').max_value], [4, 0, 100]);
  });

  test('Discord: each bad attached file gets its refusal; no run, nothing stored', async () => {
    for (const bad of BAD) {
      const answer = await discordTrain({ lines: TRAIN_LINES, archivo: discord.attachment(bad.name, bad.data) });
      assert.match(answer, bad.says, bad.name);
    }
    // too big: Discord says the size, so the bot refuses without downloading it…
    const big = discord.attachment('enorme.txt', Buffer.alloc(2.5 * 1024 * 1024, 0x61));
    assert.match(await discordTrain({ lines: TRAIN_LINES, archivo: big }), /^No he guardado «enorme\.txt»: ocupa 2,5 MB y el límite es 2 MB\./);
    const justOver = discord.attachment('justo.txt', Buffer.alloc(2 * 1024 * 1024 + 1, 0x61));
    assert.match(await discordTrain({ lines: TRAIN_LINES, archivo: justOver }), /^No he guardado «justo\.txt»: ocupa más de 2 MB y el límite es 2 MB\./);
    assert.equal(discord.cdn.get(big.id)!.served ?? 0, 0, 'not downloaded');
    // …and when the reported size is wrong, the download itself stops at the limit.
    const liar = discord.attachment('mentira.txt', Buffer.alloc(3 * 1024 * 1024, 0x61), { size: 1000 });
    assert.match(await discordTrain({ lines: TRAIN_LINES, archivo: liar }), /^No he guardado «mentira\.txt»: ocupa 3 MB y el límite es 2 MB\./);
    assert.match(await discordTrain({ lines: TRAIN_LINES, texto: 'ftp://example.org/texto.txt' }), /^No puedo descargar .*https:\/\//);
    assert.match(await discordTrain({ lines: TRAIN_LINES, mezcla: 70 }), /^`mezcla` necesita un texto tuyo/);
    assert.match(
      await discordTrain({ lines: 500, archivo: discord.attachment('texto-profesora.txt', TEXT), mezcla: 70 }),
      new RegExp(`^Con mezcla 70 caben como mucho \\d+ líneas de entrenamiento: «texto-profesora\\.txt» da ${TEXT_LINES.length - HELD} líneas para entrenar \\(sus últimas ${HELD} se guardan para evaluar\\)`),
    );
    assert.deepEqual(await leftBehind(discordPlace), { runs: [], texts: [] });
  });

  test('Slack: a file shared in the channel, passed as its link: bad files refused, another channel\'s file refused, nothing stored', async () => {
    for (const bad of [BAD[0]!, BAD[3]!, BAD[5]!]) {
      const shared = slack.shareFile(bad.name, bad.data, { channel: CHANNEL });
      assert.match(await slackTrain(`lines:${TRAIN_LINES} texto:<${shared.permalink}>`), bad.says, bad.name);
      assert.deepEqual(slack.shared.get(shared.id)!.downloads, ['xoxb-e2e'], 'downloaded once, with the bot token');
    }
    const elsewhere = slack.shareFile('otro.txt', TEXT, { channel: 'C0OTRA' });
    assert.match(await slackTrain(`lines:${TRAIN_LINES} texto:${elsewhere.permalink}`), /El archivo «otro\.txt» no está compartido en este canal/);
    assert.deepEqual(slack.shared.get(elsewhere.id)!.downloads, [], 'never downloaded');
    // a url_private on a host that is not Slack's gets no token (here: the fake's own address, refused as a login page)
    const leak = slack.shareFile('fuera.txt', TEXT, { channel: CHANNEL });
    assert.match(await slackTrain(`lines:${TRAIN_LINES} texto:${leak.urlPrivate}`), /^No he podido descargar «fuera\.txt» \(HTTP 403\)/);
    assert.deepEqual(slack.shared.get(leak.id)!.downloads, [undefined], 'no credentials sent to a host the teacher typed');
    assert.deepEqual(await leftBehind(slackPlace()), { runs: [], texts: [] });
  });

  test('Discord: /train lines:20 archivo mezcla:70 trains on the mix and shows both perplexities; the run names the text', async () => {
    const answer = await discordTrain({ lines: TRAIN_LINES, archivo: discord.attachment('texto-profesora.txt', TEXT), mezcla: 70 });
    assert.match(answer, /^Entrenamiento #\d+ aceptado: 20 líneas/);
    assert.match(answer, /\nTexto «texto-profesora\.txt» guardado: 65 líneas, codificación UTF-8 \(detectada\)\.\nEntrenará con 20 líneas: 14 del Quijote y 6 de «texto-profesora\.txt» \(mezcla 70\)/);
    const card = await discord.waitFor(() => discord.messages().find((m) => m.content.includes('Perplejidad en «texto-profesora.txt»')), { what: 'the results card', timeoutMs: ML_TIMEOUT_MS });
    const s = bot!.services;
    const run = (await s.store.latestDoneRun((await s.store.findClass(discordPlace))!.id))!;
    const hash = teacherTextHash(TEXT_LINES);
    assert.deepEqual(run.params, { lines: 20, epochs: 2, lr: 0.005, seed: 42, text: { hash, name: 'texto-profesora.txt', mix: 70, encoding: 'utf-8' } });
    const m = run.metrics!;
    const te = m.teacherEval!;
    assert.deepEqual([m.quijoteLines, m.teacherLines, te.lines], [14, 6, HELD]);
    assert.ok(te.lossAfter < te.lossBefore, `the text's held-out loss ${te.lossBefore} → ${te.lossAfter} should drop`);
    const f2 = (n: number) => formatNumber('es', n, 2);
    const change = (b: number, a: number) => `${a <= b ? 'bajó' : 'subió'} un ${formatPercent('es', Math.abs(a - b) / b)} (${a <= b ? 'ganamos' : 'perdimos'})`;
    assert.ok(card.content.includes(
      `¡Modelo de la clase afinado con 20 líneas: 14 del Quijote y 6 de «texto-profesora.txt» (mezcla 70)!\n` +
      `Pérdida de evaluación: ${formatNumber('es', m.evalLossBefore, 3)} → ${formatNumber('es', m.evalLossAfter, 3)}\n` +
      `Perplejidad en el Quijote (sus últimas ${EVAL_LINES} líneas): ${f2(m.perplexityBefore)} → ${f2(m.perplexityAfter)}\n` +
      `Perplejidad en «texto-profesora.txt» (sus últimas ${HELD} líneas, que no entrenó): ${f2(te.perplexityBefore)} → ${f2(te.perplexityAfter)}\n` +
      `Lo que ganamos, lo que perdimos: en «texto-profesora.txt» la perplejidad ${change(te.perplexityBefore, te.perplexityAfter)}; en el Quijote, ${change(m.perplexityBefore, m.perplexityAfter)}.`,
    ), card.content);
    assert.match(card.content, new RegExp(`Ajustes exactos de #${run.id}: lines 20 · epochs 2 · lr 0,005 · seed 42 · texto «texto-profesora\\.txt» \\(sha256 ${hash.slice(0, 12)}\\) · mezcla 70 · `));
    // Stored once under the class, by its hash; the model folder's summary records the text and both evaluations.
    assert.deepEqual((await leftBehind(discordPlace)).texts, [`${hash}.txt`]);
    const summary = JSON.parse(readFileSync(path.join(run.modelDir!, 'training_summary.json'), 'utf8'));
    assert.deepEqual(
      [summary.teacher_text.name, summary.teacher_text.sha256, summary.teacher_text.mix, summary.teacher_text.quijote_lines, summary.teacher_text.teacher_lines, summary.teacher_text.eval_loss_after],
      ['texto-profesora.txt', hash, 70, 14, 6, te.lossAfter],
    );
    // The blind meter after the automatic poll still comes (from the mixed corpus).
    await discord.waitFor(() => discord.messages().find((x) => x.content.startsWith('📏 Medidor de memorización del cuento del modelo de la clase')), { what: 'the meter', timeoutMs: ML_TIMEOUT_MS });
  });

  test('Slack: /train texto:<link of a shared file> (default mix 50) trains with it; the file went down with the bot token only', async () => {
    const shared = slack.shareFile('texto-profesora.txt', TEXT, { channel: CHANNEL });
    const answer = await slackTrain(`lines:${TRAIN_LINES} texto:<${shared.permalink}>`);
    assert.match(answer, /Entrenará con 20 líneas: 10 del Quijote y 10 de «texto-profesora\.txt» \(mezcla 50\)/);
    const card = await slack.waitFor(() => slack.calls('chat.update').find((c) => String(c.args.text).includes('Perplejidad en «texto-profesora.txt»')), 'the results card', ML_TIMEOUT_MS);
    const s = bot!.services;
    const run = (await s.store.latestDoneRun((await s.store.findClass(slackPlace()))!.id))!;
    assert.deepEqual(run.params.text, { hash: teacherTextHash(TEXT_LINES), name: 'texto-profesora.txt', mix: 50, encoding: 'utf-8' });
    assert.ok(String(card.args.text).includes(`Perplejidad en «texto-profesora.txt» (sus últimas ${HELD} líneas, que no entrenó): ${formatNumber('es', run.metrics!.teacherEval!.perplexityBefore, 2)} → ${formatNumber('es', run.metrics!.teacherEval!.perplexityAfter, 2)}`));
    assert.deepEqual(slack.shared.get(shared.id)!.downloads, ['xoxb-e2e']);
    assert.deepEqual((await leftBehind(slackPlace())).texts, [`${teacherTextHash(TEXT_LINES)}.txt`]);
  });
});
