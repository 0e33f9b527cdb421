/**
 * /sweep and /usar end to end on both platforms: the real bot (compute process, real engine on the tiny golden
 * GPT-2, SQLite) through the real discord.js client and the real Bolt app against their fakes. A teacher sweeps
 * lines:10,20: the card's numbers are the runs' stored metrics and the meter of each poll's fine-tuned story; a
 * student votes in each poll, the teacher reveals both and the votes chart follows; /usar switches the class
 * model (/status says so); bad input is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../commands/index.ts';
import { formatDate, formatNumber, formatPercent } from '../commands/messages.ts';
import { measure } from '../commands/meter.ts';
import { pollStories } from '../commands/poll.ts';
import type { Services } from '../commands/types.ts';
import type { RunRow } from '../core/store/types.ts';
import { deployCommands } from '../bot/discord/index.ts';
import { toMrkdwn } from '../bot/slack/blocks.ts';
import type { RunningBot } from '../bot/start.ts';
import { buttonsOf, FakeDiscord, type Actor } from './helpers/fake-discord.ts';
import { FakeSlack } from './helpers/fake-slack.ts';
import { e2eEnv, missingBook, ML_TIMEOUT_MS, pngSize, startE2EBot, tmpDataDir } from './helpers/e2e.ts';

const VALUES = [10, 20];
const CARD_START = '📊 **Barrido #1 terminado**';

/** The card's value rows and alt-text rows, rebuilt from the store: stored metrics, the meter on each poll's tuned story. */
async function expectedCard(s: Services, classId: number) {
  const runs = (await s.store.sweepRuns(1));
  assert.deepEqual(runs.map((r) => [r.params.lines, r.params.seed, r.status]), VALUES.map((v) => [v, 42, 'done']), 'one run per value, same seed');
  const polls = (await s.store.listPolls(classId));
  const rows: string[] = [];
  const alt: string[] = [];
  for (const run of runs) {
    const poll = polls.find((p) => p.runId === run.id)!;
    const { a, b } = await pollStories(s, poll);
    const tuned = poll.finetunedChoice === 'A' ? a : b;
    const mem = formatPercent('es', measure(tuned.text, await s.text.trainingLines(run.params.lines)).coverage);
    const m = run.metrics!;
    const ppl = formatNumber('es', m.perplexityAfter, 2);
    rows.push(`• ${run.params.lines} líneas (#${run.id}): perplejidad ${formatNumber('es', m.perplexityBefore, 2)} → **${ppl}**, memorización ${mem} (votación #${poll.id})`);
    alt.push(`${run.params.lines} líneas (#${run.id}): perplejidad ${ppl}, memorización ${mem}`);
  }
  const base = formatNumber('es', runs[0]!.metrics!.perplexityBefore, 2);
  return { runs, polls, rows, alt: `Tarjeta del barrido #1: las curvas de pérdida superpuestas, una por valor, y para cada valor su perplejidad de evaluación y su memorización. ${alt.join('; ')}. Modelo base: perplejidad ${base}.`, base };
}

async function votesText(s: Services, runs: RunRow[]): Promise<string> {
  const polls = await s.store.listPolls(runs[0]!.classId);
  const lines: string[] = [];
  for (const run of runs) {
    const p = polls.find((x) => x.runId === run.id)!;
    const tally = await s.store.tally(p.id);
    const tuned = tally[p.finetunedChoice];
    lines.push(`• ${run.params.lines} líneas (#${run.id}, votación #${p.id}): ${tuned} de ${tally.total} (${formatPercent('es', tuned / tally.total)})`);
  }
  return lines.join('\n');
}

describe('end to end on Discord: /sweep lines:10,20, the card, the votes chart, /usar', { skip: missingBook, timeout: 180_000 }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  let teacher: Actor;
  let luis: Actor;
  const place = () => ({ platform: 'discord' as const, teamId: fake.guildId, channelId: fake.channelId });
  const waitML = <T>(what: string, fn: () => T | undefined | null | false) => fake.waitFor(fn, { what, timeoutMs: ML_TIMEOUT_MS * 2 });

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: 'Profesor' }, { name: 'Alumnado' }] });
    data = tmpDataDir();
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    ({ bot } = await startE2EBot(e2eEnv(data.dir, { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE: 'Profesor', DISCORD_API_URL: fake.api })));
    teacher = { user: fake.user('profe'), roles: ['Profesor'], nick: 'Profe Ana' };
    luis = { user: fake.user('luis'), roles: ['Alumnado'] };
  });
  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('bad sweep input is refused (only the caller sees it)', async () => {
    const single = fake.slash('sweep', { lines: '20' }, teacher);
    await fake.waitFor(() => single.original?.content, { what: 'the usage refusal' });
    assert.equal(single.original!.ephemeral, true);
    assert.match(single.original!.content, /^Di qué ajuste comparar, con 2 a 4 valores separados por comas/);
    const big = fake.slash('sweep', { lines: '20,999999' }, teacher);
    await fake.waitFor(() => big.original?.content, { what: 'the limit refusal' });
    assert.match(big.original!.content, /^Los valores de `lines` deben ser enteros entre 1 y \d+ .*«999999» no vale\.$/);
    const student = fake.slash('sweep', { lines: '10,20' }, luis);
    await fake.waitFor(() => student.original?.content, { what: 'the student refusal' });
    assert.match(student.original!.content, /^Solo el profesorado puede usar /);
    assert.equal((await bot!.services.store.findClass(place())), undefined, 'nothing was stored');
  });

  test('/sweep lines:10,20: the values train one after another; the card says the stored numbers; the votes chart after the last reveal; /usar', async () => {
    const s = bot!.services;
    const it = fake.slash('sweep', { lines: VALUES.join(',') }, teacher);
    await fake.waitFor(() => it.original?.content, { what: '/sweep accepted' });
    assert.equal(it.original!.ephemeral, true);
    assert.match(it.original!.content, /^Barrido #1 aceptado: 2 entrenamientos \(10 líneas · 20 líneas\), uno tras otro, con 2 épocas · lr 0,005 · semilla 42\./);
    const card = await waitML('the sweep card', () => fake.messages().find((m) => m.content.includes(CARD_START) && m.attachments.length > 0));
    const cls = (await s.store.findClass(place()))!;
    const want = await expectedCard(s, cls.id);
    for (const row of want.rows) assert.ok(card.content.includes(`\n${row}\n`), `${row}\nin\n${card.content}`);
    assert.ok(card.content.includes(`Perplejidad del modelo base: ${want.base}.`));
    assert.equal(card.attachments[0]!.filename, 'barrido-1.png');
    assert.equal(card.attachments[0]!.description, want.alt);
    assert.equal(pngSize(card.attachments[0]!.data).width, 520);
    assert.equal((await s.store.getSweep(1))!.status, 'done');
    assert.ok(want.runs[1]!.startedAt! >= want.runs[0]!.finishedAt!, 'the second value started after the first ended');

    // a student votes for the fine-tuned story in the first poll and for the base one in the second
    for (const [i, p] of want.polls.entries()) {
      const msg = fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${p.id}:A`))!;
      const pick = i === 0 ? p.finetunedChoice : p.finetunedChoice === 'A' ? 'B' : 'A';
      const v = fake.click(msg, `vote:${p.id}:${pick}`, luis);
      await fake.waitFor(() => v.callbacks.length > 0, { what: 'the vote' });
    }
    for (const p of [...want.polls].reverse()) {
      const rv = fake.slash('reveal', {}, teacher);
      await waitML(`/reveal #${p.id}`, () => rv.original?.content.startsWith(`🔍 **Votación #${p.id} revelada**`));
    }
    const votes = await waitML('the votes chart', () => fake.messages().find((m) => m.content.startsWith('🏆') && m.attachments.length > 0));
    assert.equal(votes.content, `🏆 **Barrido #1: ¿qué valor ganó los votos de la clase?**\n${await votesText(s, want.runs)}\nGanó 10 líneas (#${want.runs[0]!.id}). Para usarlo como modelo de la clase: \`/usar run:#${want.runs[0]!.id}\`.`);
    assert.equal(votes.attachments[0]!.filename, 'barrido-1-votos.png');
    assert.equal(pngSize(votes.attachments[0]!.data).width, 520);

    // /usar: the class model becomes the first value's run
    assert.equal((await s.store.classModelRun(cls.id)), undefined, 'the sweep alone does not choose the class model');
    const use = fake.slash('usar', { run: `#${want.runs[0]!.id}` }, teacher);
    await fake.waitFor(() => use.original?.content, { what: '/usar' });
    assert.match(use.original!.content, new RegExp(`^✅ El modelo de la clase es ahora el del entrenamiento #${want.runs[0]!.id} \\(lines 10 · `));
    assert.equal(use.original!.ephemeral, false);
    assert.equal((await s.store.classModelRun(cls.id))!.id, want.runs[0]!.id);
    const st = fake.slash('status', {}, luis);
    await fake.waitFor(() => st.original?.content, { what: '/status' });
    assert.ok(st.original!.content.includes(`Modelo de la clase: afinado con 10 líneas (2 épocas) el ${formatDate(want.runs[0]!.finishedAt!)}`), st.original!.content);
  });
});

describe('end to end on Slack: /sweep lines:10,20, the card, /usar', { skip: missingBook, timeout: 180_000 }, () => {
  const TEACHER = 'U0PROFE';
  const CHANNEL = 'C0CLASE';
  let fake: FakeSlack;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  const ephemeralsTo = (user: string) => fake.calls('chat.postEphemeral').filter((c) => c.args.user === user);

  before(async () => {
    fake = await FakeSlack.start({ botToken: 'xoxb-e2e', appToken: 'xapp-e2e' });
    data = tmpDataDir();
    ({ bot } = await startE2EBot(e2eEnv(data.dir, { SLACK_BOT_TOKEN: 'xoxb-e2e', SLACK_APP_TOKEN: 'xapp-e2e', SLACK_TEACHERS: TEACHER, SLACK_API_URL: fake.apiUrl })));
  });
  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('bad input refused; /sweep lines:10,20 posts the card with the stored numbers; /usar switches the model', async () => {
    const s = bot!.services;
    await fake.slash('/sweep', 'lines:10,20 epochs:1,2', { userId: TEACHER, userName: 'profe', channelId: CHANNEL });
    const refused = await fake.waitFor(() => ephemeralsTo(TEACHER)[0], 'the refusal');
    assert.equal(refused.args.text, toMrkdwn('Un barrido compara un solo ajuste a la vez: da la lista en `lines`, `epochs` o `lr`, y en los otros como mucho un valor fijo (escribiste listas en `lines`, `epochs`).'));

    await fake.slash('/sweep', 'lines:10,20', { userId: TEACHER, userName: 'profe', channelId: CHANNEL });
    const accepted = await fake.waitFor(() => ephemeralsTo(TEACHER)[1], '/sweep accepted');
    assert.match(accepted.args.text, /^Barrido #1 aceptado: 2 entrenamientos \(10 líneas · 20 líneas\)/);
    const card = await fake.waitFor(() => fake.calls('chat.postMessage').find((c) => String(c.args.text).includes('*Barrido #1 terminado*')), 'the sweep card', ML_TIMEOUT_MS * 2);
    const cls = (await s.store.findClass({ platform: 'slack', teamId: fake.teamId, channelId: CHANNEL }))!;
    const want = await expectedCard(s, cls.id);
    for (const row of want.rows) assert.ok(card.args.text.includes(toMrkdwn(row)), `${toMrkdwn(row)}\nin\n${card.args.text}`);
    const file = await fake.waitFor(() => [...fake.files.values()].find((f) => f.filename === 'barrido-1.png' && f.channel === CHANNEL), 'the card upload');
    assert.equal(file.altText, want.alt);
    assert.equal(pngSize(file.data!).width, 520);

    await fake.slash('/usar', `#${want.runs[1]!.id}`, { userId: TEACHER, userName: 'profe', channelId: CHANNEL });
    const said = await fake.waitFor(() => fake.calls('chat.postMessage').find((c) => String(c.args.text).startsWith('✅ El modelo de la clase es ahora')), 'the public /usar answer');
    assert.ok(said.args.text.includes(`entrenamiento #${want.runs[1]!.id} (lines 20 · `), said.args.text);
    assert.equal((await s.store.classModelRun(cls.id))?.id, want.runs[1]!.id, '/usar switched the model');
  });
});
