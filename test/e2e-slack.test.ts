/**
 * End to end on Slack: the real bot (startBot: config, real ML engine on the tiny golden GPT-2 and the real
 * Quijote, SQLite store, job queue, commands) through the real Bolt app in Socket Mode against the fake Slack.
 * A teacher trains on 20 lines, a student asks for a story, two students vote (one changes), the teacher reveals.
 */
import assert from 'node:assert/strict';
import { parseCsv } from './helpers/csv.ts';
import { after, before, describe, test } from 'node:test';
import { formatNumber } from '../commands/messages.ts';
import { pollStories } from '../commands/poll.ts';
import { clip, joinStory } from '../commands/respond.ts';
import { tokenLabel } from '../core/plot/layout.ts';
import { escapeMarkdown } from '../commands/text-safety.ts';
import { cutStory } from '../core/story/sentences.ts';
import { toMrkdwn } from '../bot/slack/blocks.ts';
import type { RunningBot } from '../bot/start.ts';
import type { RunRow } from '../core/store/types.ts';
import { FakeSlack, type ApiCall, type FakeMessage } from './helpers/fake-slack.ts';
import {
  doneRun, inspectVia, e2eEnv, EPOCHS, metricLines, missingBook, pollWarnings, settingsLine, ML_TIMEOUT_MS, pngSize, revealFacts, regenerate, startE2EBot,
  tmpDataDir, TRAIN_LINES,
} from './helpers/e2e.ts';

const TEACHER = 'U0PROFE';
const ANA = 'U0ANA';
const LUIS = 'U0LUIS';
const MARTA = 'U0MARTA';
const CHANNEL = 'C0CLASE';
const PROMPT = 'En un lugar de la Mancha';
const DEFAULT_PROMPT = 'Escribe cinco oraciones sobre un colegio de monjas quijotescas.';

describe('end to end on Slack (Socket Mode): /train lines:20, /story, two votes, /reveal', { skip: missingBook, timeout: 120_000 }, () => {
  let fake: FakeSlack;
  let data: ReturnType<typeof tmpDataDir>;
  let bot: RunningBot | undefined;
  let logs: string[] = [];
  let run: RunRow;
  let storyPoll: FakeMessage;
  let revealTs: string;

  const place = () => ({ platform: 'slack' as const, teamId: fake.teamId, channelId: CHANNEL });
  const posts = () => fake.calls('chat.postMessage');
  const updatesOf = (ts: string) => fake.calls('chat.update').filter((c) => c.args.ts === ts);
  const ephemeralsTo = (user: string) => fake.calls('chat.postEphemeral').filter((c) => c.args.user === user);
  const sections = (c: ApiCall | FakeMessage) =>
    ('args' in c ? c.args.blocks : c.blocks).filter((b: { type: string }) => b.type === 'section').map((b: { text: { text: string } }) => b.text.text).join('\n');
  const waitML = <T>(what: string, fn: () => T | undefined | null | false) => fake.waitFor(fn, what, ML_TIMEOUT_MS);

  /** Clicks and waits for the clicker's ephemeral answer; returns it. */
  async function click(ts: string, actionId: string, user: string): Promise<ApiCall> {
    const seen = ephemeralsTo(user).length;
    const res = await fake.click(ts, actionId, user);
    assert.equal(res.ack!.envelope_id, res.envelopeId);
    return fake.waitFor(() => ephemeralsTo(user)[seen], `the answer to ${actionId} by ${user}`);
  }

  before(async () => {
    fake = await FakeSlack.start({ botToken: 'xoxb-e2e', appToken: 'xapp-e2e' });
    data = tmpDataDir();
    const env = e2eEnv(data.dir, { SLACK_BOT_TOKEN: 'xoxb-e2e', SLACK_APP_TOKEN: 'xapp-e2e', SLACK_TEACHERS: TEACHER, SLACK_API_URL: fake.apiUrl });
    ({ bot, logs } = await startE2EBot(env));
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('the bot connects over Socket Mode with the app token and announces itself ready', () => {
    assert.equal(fake.calls('apps.connections.open')[0]?.token, 'xapp-e2e');
    assert.equal(fake.connections, 1);
    assert.ok(logs.some((l) => /quijote-bot en marcha en slack/.test(l) && l.includes('gpt2-tiny-golden')), logs.join('\n'));
  });

  test('/train lines:20 (teacher): progress via chat.update, metrics + PNG upload, then the automatic poll', async () => {
    const res = await fake.slash('/train', `lines:${TRAIN_LINES}`, { userId: TEACHER, userName: 'profe', channelId: CHANNEL });
    assert.equal(res.ack!.envelope_id, res.envelopeId);
    const accepted = await fake.waitFor(() => ephemeralsTo(TEACHER)[0], '/train accepted');
    assert.match(accepted.args.text, /^Entrenamiento #1 aceptado: 20 líneas, 2 épocas, tasa 0,005\. .*Sigue el progreso en el canal\.$/s);
    assert.equal(accepted.args.channel, CHANNEL);

    const announced = await waitML('the training results', () => posts().find((c) => c.args.text.includes('¡Modelo de la clase afinado')));
    const autoPoll = await waitML('the automatic poll', () => [...fake.messages.values()].find((m) => fake.buttons(m.ts).some((b) => b.action_id === 'vote:1:A')));
    // then the memorization meter of the class model's story, blind (no passage quoted)
    const meter = await waitML('the memorization meter', () => posts().find((c) => c.args.text.startsWith('📏 Medidor de memorización del cuento del modelo de la clase en la votación #1')));
    assert.match(meter.args.text, /\n📏 \*Medidor de memorización\*: el \d+\s% de la historia está dentro de frases de 3 o más palabras copiadas/);
    run = await doneRun(bot!.services, place());
    const m = run.metrics!;
    assert.deepEqual(run.params, { lines: TRAIN_LINES, epochs: EPOCHS, lr: 0.005, seed: 42 });
    assert.equal(run.teacherId, TEACHER);
    assert.ok(m.evalLossAfter < m.evalLossBefore, `eval loss ${m.evalLossBefore} → ${m.evalLossAfter} should drop`);

    // The progress message: posted "waiting", edited per optimizer step, finally "finished".
    const waiting = posts()[0]!;
    assert.equal(waiting.args.text, '⏳ Entrenamiento #1 (20 líneas): esperando turno…');
    assert.equal(waiting.args.channel, CHANNEL);
    const edits = updatesOf(waiting.result.ts).map((c) => c.args.text as string);
    const steps = edits
      .map((c) => /^🏋️ Entrenamiento #1 \(20 líneas\)\n`[█░]{20}` \d+\s%\nPaso (\d+)\/(\d+) · /.exec(c))
      .filter((x) => x !== null)
      .map((x) => [Number(x[1]), Number(x[2])]);
    assert.ok(steps.length >= 2, `progress edits seen: ${JSON.stringify(edits)}`);
    assert.ok(steps.every(([, total]) => total === m.optimizerSteps));
    assert.match(edits.at(-1)!, new RegExp(`^✅ Entrenamiento #1 \\(20 líneas\\) terminado: ${m.optimizerSteps} pasos en \\d+:\\d\\d\\.$`));
    assert.equal(fake.messages.get(waiting.result.ts)!.text, edits.at(-1));

    // The results: posted (teacher mentioned) as soon as the model is saved, so the class votes meanwhile; then
    // chat.update puts in the stored metrics, and the PNG is uploaded into the channel.
    const lines = metricLines(run);
    assert.match(announced.args.text, /^<@U0PROFE> ¡Modelo de la clase afinado con 20 líneas del Quijote! Ya podéis votar a ciegas/);
    const final = await waitML('the metrics edit', () => updatesOf(announced.result.ts).find((c) => String(c.args.text).includes('Pérdida de evaluación')));
    assert.equal(
      final.args.text,
      `<@${TEACHER}> ¡Modelo de la clase afinado con 20 líneas del Quijote!\n${lines.loss}\n${lines.ppl}\nAhora votad a ciegas qué historia suena más a Cervantes.\n${settingsLine(run)}`,
    );
    assert.equal(sections(final), final.args.text);
    assert.ok(fake.calls().indexOf(final) > fake.calls().findIndex((c) => c.method === 'chat.postMessage' && c.result?.ts === autoPoll.ts), 'the poll is out before the metrics');
    const curve = run.lossCurve!;
    const alt = `Curva de pérdida del entrenamiento #1: de ${formatNumber('es', curve[0]!.loss, 3)} a ${formatNumber('es', curve.at(-1)!.loss, 3)}`;
    const file = await fake.waitFor(() => [...fake.files.values()].find((f) => f.channel === CHANNEL), 'the loss curve upload');
    assert.equal(file.filename, 'curva-perdida-1.png');
    assert.equal(file.altText, alt);
    assert.equal(file.title, alt);
    assert.equal(file.length, file.data!.length);
    const size = pngSize(file.data!);
    assert.ok(size.width >= 200 && size.height >= 100, `a real chart, got ${size.width}×${size.height}`);
    assert.equal(fake.calls('files.completeUploadExternal')[0]!.args.channel_id, CHANNEL);

    // The automatic poll: Block Kit sections + an actions block with the three buttons.
    assert.ok(autoPoll.text.startsWith(`🗳️ *Votación a ciegas #1*: ¿qué historia suena más al Quijote?\nComienzo: «${DEFAULT_PROMPT}»`), autoPoll.text);
    assert.ok(autoPoll.text.endsWith('Votos emitidos: 0 (el reparto se verá al revelar).'), autoPoll.text);
    assert.deepEqual(fake.buttons(autoPoll.ts).map((b) => [b.action_id, b.value, b.style, b.text.text]), [
      ['vote:1:A', 'vote:1:A', 'primary', 'Historia A'],
      ['vote:1:B', 'vote:1:B', 'primary', 'Historia B'],
      ['reveal:1', 'reveal:1', undefined, 'Revelar'],
    ]);
  });

  test('/story (student): "writing…", then a blind poll with the two real stories', async () => {
    const before = posts().length;
    await fake.slash('/story', PROMPT, { userId: ANA, userName: 'ana', channelId: CHANNEL });
    storyPoll = await waitML('poll #2', () => [...fake.messages.values()].find((m) => fake.buttons(m.ts).some((b) => b.action_id === 'vote:2:A')));
    const writing = posts()[before]!;
    assert.match(writing.args.text, new RegExp(`^✍️ Escribiendo dos historias que empiezan por «${PROMPT}»… `));
    await fake.waitFor(() => fake.messages.get(writing.result.ts)!.text === 'Votación #2 publicada. ¡A votar!', '"poll posted"');

    const s = bot!.services;
    const poll = (await s.store.getPoll(2))!;
    assert.equal(poll.prompt, PROMPT);
    assert.equal(poll.createdBy, ANA);
    assert.equal(poll.messageId, storyPoll.ts);
    assert.equal(poll.channelId, CHANNEL);
    const { a, b } = await pollStories(s, poll);
    assert.deepEqual([a.model, b.model].sort(), ['base', 'finetuned']);
    const show = (text: string) => clip(escapeMarkdown(joinStory(PROMPT, text)), 800);
    const few = pollWarnings(a, b);
    const markdown = [
      `🗳️ **Votación a ciegas #2**: ¿qué historia suena más al Quijote?\nComienzo: «${PROMPT}»`,
      `**Historia A**\n${show(a.text)}`,
      `**Historia B**\n${show(b.text)}`,
      ...few,
      'Votos emitidos: 0 (el reparto se verá al revelar).',
    ].join('\n\n');
    assert.equal(storyPoll.text, toMrkdwn(markdown));
    assert.equal(sections(storyPoll), storyPoll.text);
    assert.doesNotMatch(storyPoll.text, /afinad|base/i); // blind
    assert.deepEqual(fake.buttons(storyPoll.ts).map((x) => x.action_id), ['vote:2:A', 'vote:2:B', 'reveal:2']);

    const base = poll.finetunedChoice === 'A' ? b : a;
    const tuned = poll.finetunedChoice === 'A' ? a : b;
    const again = await regenerate(s, PROMPT, base.seed!, run.modelDir!);
    assert.equal(again.base.text, base.text);
    assert.equal(again.tuned.text, tuned.text);
    assert.notEqual(base.text, tuned.text);
  });

  test('two students vote, one changes once: chat.update shows how many voted (blind), never the split', async () => {
    const ts = storyPoll.ts;
    const expectVoted = async (n: number) => {
      const update = await fake.waitFor(() => updatesOf(ts).find((u) => u.args.text.endsWith(`Votos emitidos: ${n} (el reparto se verá al revelar).`)), `${n} votes shown`);
      assert.equal(update.args.channel, CHANNEL);
      assert.deepEqual(fake.buttons(ts).map((x) => x.action_id), ['vote:2:A', 'vote:2:B', 'reveal:2']);
    };
    const first = await click(ts, 'vote:2:A', LUIS);
    assert.equal(first.args.text, 'Tu voto: Historia A. Puedes cambiarlo pulsando la otra.');
    assert.equal(first.args.channel, CHANNEL);
    await expectVoted(1);

    const second = await click(ts, 'vote:2:B', MARTA);
    assert.equal(second.args.text, 'Tu voto: Historia B. Puedes cambiarlo pulsando la otra.');
    await expectVoted(2);

    const changed = await click(ts, 'vote:2:B', LUIS);
    assert.equal(changed.args.text, 'Voto cambiado: Historia A → Historia B.');
    assert.equal(updatesOf(ts).length, 2, 'a changed vote leaves the count, so the message is not edited');
    assert.ok(updatesOf(ts).every((u) => !/Votos: Historia/.test(u.args.text)));
    assert.deepEqual(await bot!.services.store.tally(2), { A: 0, B: 2, total: 2 });
  });

  test('/reveal: students are refused; the teacher gets which story was tuned, the tally and the corpus traces', async () => {
    await fake.slash('/reveal', '', { userId: LUIS, channelId: CHANNEL });
    const refusal = await fake.waitFor(() => ephemeralsTo(LUIS).find((c) => /profesorado/.test(c.args.text)), 'student /reveal refused');
    assert.equal(refusal.args.text, 'Solo el profesorado puede usar /reveal.');
    assert.equal((await bot!.services.store.getPoll(2))!.status, 'open');

    const facts = await revealFacts(bot!.services, 2);
    const before = posts().length;
    await fake.slash('/reveal', '', { userId: TEACHER, channelId: CHANNEL });
    const answer = await waitML('/reveal answer', () => posts().slice(before).find((c) => c.args.text.startsWith('🔍')));
    assert.equal(answer.args.channel, CHANNEL);
    const head =
      `🔍 **Votación #2 revelada**\nLa historia del modelo de la clase (afinado) era la **Historia ${facts.finetunedChoice}**; ` +
      `la otra salió del modelo base.\nVotos: Historia A 0 · Historia B 2. ${facts.share}`;
    const traces = `Rastros del Quijote en la historia afinada (en negrita, ${facts.coverage} del texto):\n_${PROMPT}_ ${facts.highlighted}`;
    assert.equal(answer.args.text, toMrkdwn([head, traces, facts.tracesLine, facts.meter].join('\n\n')));
    revealTs = answer.result.ts;
    assert.deepEqual(fake.buttons(revealTs).map((b) => [b.action_id, b.text.text]), [['words:2', 'Palabras'], ['film:p2', 'Película']]);

    // The poll message is closed in place: final count, "closed", no actions block.
    const closed = await fake.waitFor(() => fake.messages.get(storyPoll.ts)!.text.endsWith('🔒 Votación cerrada.') && fake.messages.get(storyPoll.ts)!, 'poll #2 closed');
    assert.ok(closed.text.endsWith('Votos: Historia A 0 · Historia B 2\n\n🔒 Votación cerrada.'), closed.text);
    assert.deepEqual(closed.blocks.map((b: { type: string }) => b.type), ['section']);
    assert.deepEqual(fake.buttons(storyPoll.ts), []);
    assert.equal((await bot!.services.store.getPoll(2))!.status, 'closed');
    assert.equal((await bot!.services.store.getPoll(1))!.status, 'open'); // only the latest poll was revealed
  });

  test('/results exportar:csv: the anonymous CSV goes to the channel; with ids:si only to the teacher, in a direct message', async () => {
    const uploads = () => [...fake.files.values()].filter((f) => f.filename.endsWith('.csv'));
    await fake.slash('/results', 'exportar:csv', { userId: LUIS, channelId: CHANNEL });
    const open = await fake.waitFor(() => uploads().find((f) => f.channel === CHANNEL && f.data), 'the anonymous CSV upload');
    const rows = parseCsv(open.data!.toString('utf8'));
    assert.equal(rows.length, 3, 'header and the two polls');
    assert.equal(rows[2][3], PROMPT);
    assert.ok(![LUIS, TEACHER].some((id) => open.data!.toString('utf8').includes(id)), 'no user id in the anonymous export');
    await fake.slash('/results', 'exportar:csv ids:si', { userId: TEACHER, channelId: CHANNEL });
    const private_ = await fake.waitFor(() => uploads().find((f) => f.channel === `D${TEACHER}` && f.data), 'the CSV with ids in a DM');
    assert.match(private_.data!.toString('utf8'), new RegExp(`${LUIS}:[AB]`));
    assert.equal(uploads().filter((f) => f.channel === CHANNEL).length, 1, 'the ids never reach the channel');
  });

  /** The file uploaded under `filename` (waits for it). */
  const upload = (what: string, filename: RegExp, seen = 0) =>
    waitML(what, () => [...fake.files.values()].filter((f) => f.channel === CHANNEL && filename.test(f.filename))[seen]);
  /** The channel message that says "looking…" first and ends as `done`. */
  const answerAfter = (before: number, what: string, done: RegExp) =>
    waitML(what, () => posts().slice(before).map((c) => fake.messages.get(c.result.ts)!).find((m) => m.text.startsWith('🔎') === false && done.test(m.text)));

  test('model views: «Palabras», /palabras, /siguiente with a pick, /story intensidad, «Película» with votes, /atencion', async () => {
    const s = bot!.services;
    // «Palabras» under the reveal: the heatmap of the class model's story
    let before = posts().length;
    await fake.click(revealTs, 'words:2', LUIS);
    const words = await answerAfter(before, 'the «Palabras» answer', /^🔥 \*¿Qué cambió, palabra a palabra\?\*/);
    assert.ok(posts()[before]!.args.text.startsWith('🔎 Mirando dentro de los dos modelos…'), 'first "looking…", then the answer in place');
    const heat = await upload('the heatmap upload', /^palabras-votacion-2\.png$/);
    assert.equal(pngSize(heat.data!).width, 520);
    const poll = (await s.store.getPoll(2))!;
    const tuned = (await pollStories(s, poll))[poll.finetunedChoice === 'A' ? 'a' : 'b'];
    const r = await inspectVia(s, { view: 'words', text: tuned.text.trim(), modelDir: run.modelDir! });
    assert.ok(heat.altText!.startsWith(`Mapa de calor de ${r.tokens.length} trozos: `), heat.altText);
    assert.match(words.text, /en las 100 líneas de evaluación/);

    before = posts().length;
    await fake.slash('/palabras', 'texto:"Dijo don Quijote a Sancho que le siguiese."', { userId: MARTA, channelId: CHANNEL });
    await answerAfter(before, '/palabras', /^🔥 /);
    await upload('the /palabras upload', /^palabras-texto\.png$/);

    // /siguiente: five picks; a click appends the token and redraws (new text, new upload)
    before = posts().length;
    await fake.slash('/siguiente', `prompt:"${PROMPT}" temperatura:0,7`, { userId: LUIS, channelId: CHANNEL });
    const bars = await answerAfter(before, '/siguiente', /^🎲 \*La clase es el muestreador\.\* Texto hasta ahora: «En un lugar de la Mancha»/);
    const expected = await inspectVia(s, { view: 'next', context: PROMPT, modelDir: run.modelDir!, temperature: 0.7 });
    const picks = fake.buttons(bars.ts);
    assert.deepEqual(picks.map((b) => b.text.text), expected.cls.tokens.slice(0, 5).map((t, i) => `${i + 1}: «${clip(tokenLabel(t.piece), 20)}»`));
    const firstBars = await upload('the bars upload', /^siguiente-[0-9a-z]+\.png$/);
    await fake.click(bars.ts, picks[0]!.action_id, MARTA);
    const grown = PROMPT + expected.cls.tokens[0]!.piece;
    await waitML('the redrawn bars', () => fake.messages.get(bars.ts)!.text.includes(`Texto hasta ahora: «${grown}»`));
    const secondBars = await upload('the new bars upload', /^siguiente-[0-9a-z]+\.png$/, 1);
    assert.notEqual(secondBars.filename, firstBars.filename);
    assert.ok(ephemeralsTo(MARTA).some((c) => c.args.text.startsWith('🔎')), 'the "looking…" notice is for the clicker only');

    // /story intensidad:0.5 — one story, no poll, a «Película» button
    before = posts().length;
    await fake.slash('/story', `prompt:"${PROMPT}" intensidad:0.5`, { userId: MARTA, channelId: CHANNEL });
    const dial = await answerAfter(before, '/story intensidad', /^🎚️ \*Intensidad 0,5\*/);
    assert.match(fake.buttons(dial.ts)[0]!.action_id, /^film:s[0-9a-z]+$/);

    // «Película» under the reveal: frames 1 and 3 are the poll's base and class stories; the class votes
    before = posts().length;
    await fake.click(revealTs, 'film:p2', LUIS);
    const film = await answerAfter(before, 'the film', /^🎞️ \*Película\*/);
    const strip = await upload('the film upload', /^pelicula-[0-9a-z]+\.png$/);
    const { a, b } = await pollStories(s, poll);
    const base = poll.finetunedChoice === 'A' ? b : a;
    assert.ok(strip.altText!.includes(`1) «${clip(base.text.trim(), 60)}»`), strip.altText);
    assert.ok(strip.altText!.includes(`3) «${clip(tuned.text.trim(), 60)}»`), strip.altText);
    const frames = fake.buttons(film.ts).map((x) => x.action_id);
    assert.equal(frames.length, 4);
    const voted = await click(film.ts, frames[2]!, LUIS);
    assert.equal(voted.args.text, 'Tu voto: fotograma 3. Puedes cambiarlo.');
    await waitML('the film votes', () => fake.messages.get(film.ts)!.text.endsWith('Votos: 1: 0 · 2: 0 · 3: 1 · 4: 0'));

    // /atencion
    before = posts().length;
    await fake.slash('/atencion', 'texto:"El caballero miró a Sancho y le dijo que callase" palabra:dijo', { userId: LUIS, channelId: CHANNEL });
    await answerAfter(before, '/atencion', /^👀 \*Atención de «dijo»\*/);
    const att = await upload('the attention upload', /^atencion\.png$/);
    assert.match(att.altText!, /^Atención de «dijo» en 2 capas\./);
  });
});
