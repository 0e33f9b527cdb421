/**
 * End to end on Discord: the real bot (startBot: config, real ML engine on the tiny golden GPT-2 and the real
 * Quijote, SQLite store, job queue, commands) through the real discord.js client against the fake Discord.
 * A teacher trains on 20 lines, a student asks for a story, two students vote (one changes), the teacher reveals;
 * then the bot restarts on the same DATA_DIR and everything is still there.
 */
import assert from 'node:assert/strict';
import { parseCsv } from './helpers/csv.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commands } from '../commands/index.ts';
import { formatDate, formatNumber, formatPercent } from '../commands/messages.ts';
import { pollStories } from '../commands/poll.ts';
import { tokenLabel } from '../core/plot/layout.ts';
import { clip, joinStory } from '../commands/respond.ts';
import { escapeMarkdown } from '../commands/text-safety.ts';
import { cutStory } from '../core/story/sentences.ts';
import { deployCommands } from '../bot/discord/index.ts';
import type { RunningBot } from '../bot/start.ts';
import { openStore } from '../core/store/store.ts';
import type { RunRow } from '../core/store/types.ts';
import { buttonsOf, FakeDiscord, type Actor, type FakeInteraction, type FakeMessage } from './helpers/fake-discord.ts';
import {
  doneRun, inspectVia, regenerate, e2eEnv, EPOCHS, metricLines, missingBook, pollWarnings, settingsLine, ML_TIMEOUT_MS, pngSize, revealFacts, startE2EBot,
  tmpDataDir, TRAIN_LINES,
} from './helpers/e2e.ts';

const TEACHER_ROLE = 'Profesor';
const PROMPT = 'En un lugar de la Mancha';
const DEFAULT_PROMPT = 'Escribe cinco oraciones sobre un colegio de monjas quijotescas.';

describe('end to end on Discord: /train lines:20, /story, two votes, /reveal, restart', { skip: missingBook, timeout: 120_000 }, () => {
  let fake: FakeDiscord;
  let data: ReturnType<typeof tmpDataDir>;
  let env: Record<string, string>;
  let bot: RunningBot | undefined;
  let logs: string[] = [];
  let teacher: Actor;
  let luis: Actor;
  let marta: Actor;
  let place: { platform: 'discord'; teamId: string; channelId: string };
  let run: RunRow;
  let storyPoll: FakeMessage;
  let autoPoll: FakeMessage;
  let revealMsg: FakeMessage;

  const channelPosts = () => fake.requestsTo('POST', new RegExp(`^/channels/${fake.channelId}/messages$`));
  const channelEdits = (id: string) => fake.requestsTo('PATCH', new RegExp(`^/channels/${fake.channelId}/messages/${id}$`));
  const tokenRequests = (it: FakeInteraction) => fake.requests.filter((r) => r.path.includes(it.token));
  const pollMessage = (pollId: number) => fake.messages().find((m) => buttonsOf(m).some((b) => b.custom_id === `vote:${pollId}:A`));
  const waitML = <T>(what: string, fn: () => T | undefined | null | false) => fake.waitFor(fn, { what, timeoutMs: ML_TIMEOUT_MS });

  async function click(message: FakeMessage, customId: string, as: Actor): Promise<FakeInteraction> {
    const it = fake.click(message, customId, as);
    // The clicker's own answer: a follow-up after the poll update (type 7), or the first response itself (type 4).
    await fake.waitFor(() => it.followups[0] ?? (it.callbacks[0]?.type === 4 && it.original), { what: `the answer to ${customId}` });
    return it;
  }

  before(async () => {
    fake = await FakeDiscord.start({ roles: [{ name: TEACHER_ROLE }, { name: 'Alumnado' }] });
    data = tmpDataDir();
    env = e2eEnv(data.dir, { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_GUILD_ID: fake.guildId, TEACHER_ROLE, DISCORD_API_URL: fake.api });
    teacher = { user: fake.user('profe'), roles: [TEACHER_ROLE], nick: 'Profe Ana' };
    luis = { user: fake.user('luis'), roles: ['Alumnado'] };
    marta = { user: fake.user('marta'), roles: ['Alumnado'] };
    place = { platform: 'discord', teamId: fake.guildId, channelId: fake.channelId };
    // What `npm run deploy-commands` does before a class: the real command list, registered in the server.
    await deployCommands({ token: fake.token, appId: fake.appId, guildId: fake.guildId, commands, rest: { api: fake.api } });
    ({ bot, logs } = await startE2EBot(env));
  });

  after(async () => {
    await bot?.stop();
    await fake?.close();
    data?.remove();
  });

  test('the bot logs in and announces itself ready with the real engine', () => {
    assert.ok(fake.gateway.connected);
    assert.ok(logs.some((l) => /quijote-bot en marcha en discord/.test(l) && l.includes('wasm') && l.includes('gpt2-tiny-golden')), logs.join('\n'));
    assert.deepEqual(fake.commands(fake.guildId).map((c) => c.name), commands.map((c) => c.name));
  });

  test('/train lines:20 (teacher): ephemeral ack, progress edits, metrics + loss curve PNG, then the automatic poll', async () => {
    const it = fake.slash('train', { lines: TRAIN_LINES }, teacher);
    const accepted = await fake.waitFor(() => it.original?.content.startsWith('Entrenamiento #1 aceptado') && it.original, { what: '/train accepted' });
    assert.deepEqual(it.callbacks.map((c) => [c.type, c.data?.flags]), [[5, 64]]); // deferred, ephemeral
    assert.equal(accepted.ephemeral, true);
    assert.match(accepted.content, /^Entrenamiento #1 aceptado: 20 líneas, 2 épocas, tasa 0,005\. .*Sigue el progreso en el canal\.$/s);

    const announced = await waitML('the training results', () => fake.messages().find((m) => m.content.includes('¡Modelo de la clase afinado') && m.content.includes('Pérdida de evaluación')));
    autoPoll = await waitML('the automatic poll', () => pollMessage(1));
    // then the memorization meter of the class model's story, blind (no passage quoted)
    const meter = await waitML('the memorization meter', () => fake.messages().find((x) => x.content.startsWith('📏 Medidor de memorización del cuento del modelo de la clase en la votación #1')));
    assert.match(meter.content, /\n📏 \*\*Medidor de memorización\*\*: el \d+\s% de la historia está dentro de frases de 3 o más palabras copiadas/);
    run = await doneRun(bot!.services, place);
    const m = run.metrics!;
    assert.equal(run.status, 'done');
    assert.deepEqual(run.params, { lines: TRAIN_LINES, epochs: EPOCHS, lr: 0.005, seed: 42 });
    assert.equal(run.teacherId, teacher.user!.id);
    assert.ok(m.evalLossAfter < m.evalLossBefore, `eval loss ${m.evalLossBefore} → ${m.evalLossAfter} should drop`);
    assert.ok(Math.abs(m.perplexityBefore - Math.exp(m.evalLossBefore)) < 1e-6 * m.perplexityBefore);
    assert.ok(m.optimizerSteps > 1);
    assert.equal(run.lossCurve!.length, m.optimizerSteps);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'training_summary.json']) {
      assert.ok(existsSync(path.join(run.modelDir!, f)), `${f} saved in ${run.modelDir}`);
    }
    const summary = JSON.parse(readFileSync(path.join(run.modelDir!, 'training_summary.json'), 'utf8'));
    assert.equal(summary.data.lines, TRAIN_LINES);
    assert.equal(summary.data.first_line, 'Capítulo primero. Que trata de la condición y ejercicio del famoso hidalgo');

    // One channel message for the progress: "waiting", then one edit per optimizer step, then "finished".
    const progress = fake.messages().find((x) => x.content.startsWith('✅ Entrenamiento #1'))!;
    assert.ok(progress, 'the progress message ends as "finished"');
    assert.equal(progress.interactionId, undefined); // a channel message, not tied to the 15-minute interaction token
    assert.equal(channelPosts()[0]!.body.content, '⏳ Entrenamiento #1 (20 líneas): esperando turno…');
    const edits = channelEdits(progress.id).map((r) => r.body.content as string);
    const steps = edits
      .map((c) => /^🏋️ Entrenamiento #1 \(20 líneas\)\n`[█░]{20}` \d+\s%\nPaso (\d+)\/(\d+) · época [\d,]+ · pérdida [\d,—]+ · [\d.]+ tokens\/s · quedan /.exec(c))
      .filter((x) => x !== null)
      .map((x) => [Number(x[1]), Number(x[2])]);
    assert.ok(steps.length >= 2, `progress edits seen: ${JSON.stringify(edits)}`);
    assert.ok(steps.every(([, total]) => total === m.optimizerSteps));
    assert.ok(steps.every(([s], i) => i === 0 || s >= steps[i - 1]![0]!), 'steps never go back');
    assert.ok(steps.at(-1)![0]! > 0 && steps.at(-1)![0]! <= m.optimizerSteps);
    assert.match(edits.at(-1)!, new RegExp(`^✅ Entrenamiento #1 \\(20 líneas\\) terminado: ${m.optimizerSteps} pasos en \\d+:\\d\\d\\.$`));

    // The results: a channel message that mentions the teacher. It is posted as soon as the model is saved (the
    // class can vote while the evaluation runs) and then edited with the metrics the store recorded and a PNG.
    const lines = metricLines(run);
    const first = channelPosts().find((r) => String(r.body.content).includes('¡Modelo de la clase afinado'))!;
    assert.match(first.body.content, /Ya podéis votar a ciegas/);
    const post = channelEdits(announced.id).find((r) => r.files.length > 0)!;
    const pollPost = fake.requests.findIndex((r) => r.method === 'POST' && String(r.body?.content ?? '').includes('Votación a ciegas #1'));
    assert.ok(pollPost >= 0 && pollPost < fake.requests.indexOf(post), 'the poll is posted before the metrics arrive');
    assert.equal(post.auth, `Bot ${fake.token}`);
    assert.equal(
      post.body.content,
      `<@${teacher.user!.id}> ¡Modelo de la clase afinado con 20 líneas del Quijote!\n${lines.loss}\n${lines.ppl}\nAhora votad a ciegas qué historia suena más a Cervantes.\n${settingsLine(run)}`,
    );
    assert.deepEqual(post.body.allowed_mentions, { parse: [], users: [teacher.user!.id] });
    assert.equal(post.files.length, 1);
    const png = post.files[0]!;
    assert.equal(png.filename, 'curva-perdida-1.png');
    assert.equal(png.contentType, 'image/png');
    const size = pngSize(png.data);
    assert.ok(size.width >= 200 && size.height >= 100, `a real chart, got ${size.width}×${size.height}`);
    const curve = run.lossCurve!;
    assert.equal(
      announced.attachments[0]!.description,
      `Curva de pérdida del entrenamiento #1: de ${formatNumber('es', curve[0]!.loss, 3)} a ${formatNumber('es', curve.at(-1)!.loss, 3)}`,
    );

    // The automatic blind poll on the default prompt.
    assert.ok(autoPoll.content.startsWith(`🗳️ **Votación a ciegas #1**: ¿qué historia suena más al Quijote?\nComienzo: «${DEFAULT_PROMPT}»`));
    assert.ok(autoPoll.content.endsWith('Votos emitidos: 0 (el reparto se verá al revelar).'), autoPoll.content);
    assert.deepEqual(buttonsOf(autoPoll).map((b) => [b.custom_id, b.label, b.style]), [
      ['vote:1:A', 'Historia A', 1], ['vote:1:B', 'Historia B', 1], ['reveal:1', 'Revelar', 2],
    ]);
  });

  test('/story (student): deferred publicly, "writing…", then a blind poll with the two real stories', async () => {
    const ana: Actor = { user: fake.user('ana'), roles: ['Alumnado'] };
    const it = fake.slash('story', { prompt: PROMPT }, ana);
    await waitML('/story done', () => it.original?.content === 'Votación #2 publicada. ¡A votar!');
    assert.deepEqual(it.callbacks.map((c) => [c.type, c.data?.flags ?? 0]), [[5, 0]]);
    const edits = tokenRequests(it).filter((r) => r.method === 'PATCH').map((r) => r.body.content as string);
    assert.match(edits[0]!, new RegExp(`^✍️ Escribiendo dos historias que empiezan por «${PROMPT}»… `));
    assert.equal(edits.at(-1), 'Votación #2 publicada. ¡A votar!');

    storyPoll = pollMessage(2)!;
    assert.ok(storyPoll);
    const s = bot!.services;
    const poll = (await s.store.getPoll(2))!;
    assert.equal(poll.prompt, PROMPT);
    assert.equal(poll.messageId, storyPoll.id);
    assert.equal(poll.createdBy, ana.user!.id);
    const { a, b } = await pollStories(s, poll);
    assert.deepEqual([a.model, b.model].sort(), ['base', 'finetuned']);
    assert.equal(a.seed, b.seed);
    const show = (text: string) => clip(escapeMarkdown(joinStory(PROMPT, text)), 800);
    // Fewer than five sentences (the tiny model writes 40 tokens) is said under the stories, never hidden.
    const few = pollWarnings(a, b);
    assert.equal(
      storyPoll.content,
      [
        `🗳️ **Votación a ciegas #2**: ¿qué historia suena más al Quijote?\nComienzo: «${PROMPT}»`,
        `**Historia A**\n${show(a.text)}`,
        `**Historia B**\n${show(b.text)}`,
        ...few,
        'Votos emitidos: 0 (el reparto se verá al revelar).',
      ].join('\n\n'),
    );
    assert.doesNotMatch(storyPoll.content, /afinad|base/i); // blind
    assert.deepEqual(buttonsOf(storyPoll).map((x) => [x.custom_id, x.label]), [['vote:2:A', 'Historia A'], ['vote:2:B', 'Historia B'], ['reveal:2', 'Revelar']]);

    // The stories are the engine's genuine output: the same seed regenerates them, and the tuned model differs.
    const base = poll.finetunedChoice === 'A' ? b : a;
    const tuned = poll.finetunedChoice === 'A' ? a : b;
    const again = await regenerate(s, PROMPT, base.seed!, run.modelDir!);
    assert.equal(again.base.text, base.text);
    assert.equal(again.tuned.text, tuned.text);
    assert.notEqual(base.text, tuned.text);
  });

  test('two students vote, one changes once: each gets an ephemeral answer first; the poll shows how many voted', async () => {
    const answer = (it: FakeInteraction) => {
      const first = it.callbacks[0]!;
      assert.equal(first.type, 4); // the voter's own answer is the interaction's response: it never waits for an edit
      assert.equal(first.data.flags, 64);
      assert.equal(it.original!.ephemeral, true);
      return it.original!.content;
    };
    const voted = (n: number) => fake.waitFor(() => fake.message(storyPoll.id).content.endsWith(`Votos emitidos: ${n} (el reparto se verá al revelar).`), { what: `${n} votes shown` });
    const first = await click(storyPoll, 'vote:2:A', luis);
    assert.equal(answer(first), 'Tu voto: Historia A. Puedes cambiarlo pulsando la otra.');
    await voted(1);

    const second = await click(storyPoll, 'vote:2:B', marta);
    assert.equal(answer(second), 'Tu voto: Historia B. Puedes cambiarlo pulsando la otra.');
    await voted(2);
    assert.equal(buttonsOf(fake.message(storyPoll.id)).length, 3);
    assert.equal(channelEdits(storyPoll.id).at(-1)!.auth, `Bot ${fake.token}`); // the posted message, edited with the bot token

    const changed = await click(storyPoll, 'vote:2:B', luis);
    assert.equal(answer(changed), 'Voto cambiado: Historia A → Historia B.');
    assert.doesNotMatch(fake.message(storyPoll.id).content, /Historia A \d|Votos: /); // blind: never the split while open
    assert.deepEqual(await bot!.services.store.tally(2), { A: 0, B: 2, total: 2 });
  });

  test('/reveal: students are refused; the teacher gets which story was tuned, the tally and the corpus traces', async () => {
    const refused = fake.slash('reveal', {}, luis);
    await fake.waitFor(() => refused.original, { what: 'student /reveal refused' });
    assert.equal(refused.original!.ephemeral, true);
    assert.match(refused.original!.content, /Solo el profesorado/);
    assert.equal((await bot!.services.store.getPoll(2))!.status, 'open');

    const facts = await revealFacts(bot!.services, 2);
    const it = fake.slash('reveal', {}, teacher);
    const msg = await waitML('/reveal answer', () => it.original?.content.startsWith('🔍') && it.original);
    assert.deepEqual(it.callbacks.map((c) => [c.type, c.data?.flags ?? 0]), [[5, 0]]); // public
    assert.equal(msg.ephemeral, false);
    const head =
      `🔍 **Votación #2 revelada**\nLa historia del modelo de la clase (afinado) era la **Historia ${facts.finetunedChoice}**; ` +
      `la otra salió del modelo base.\nVotos: Historia A 0 · Historia B 2. ${facts.share}`;
    const traces = `Rastros del Quijote en la historia afinada (en negrita, ${facts.coverage} del texto):\n_${PROMPT}_ ${facts.highlighted}`;
    assert.equal(msg.content, [head, traces, facts.tracesLine, facts.meter].join('\n\n'));
    assert.match(facts.meter, /^📏 \*\*Medidor de memorización\*\*: el \d+\s% de la historia/);
    assert.deepEqual(buttonsOf(msg).map((b) => [b.custom_id, b.label]), [['words:2', 'Palabras'], ['film:p2', 'Película']]);
    revealMsg = msg;

    // The poll message is closed in place: final count, "closed", no buttons; edited with the bot token.
    const closed = await fake.waitFor(() => fake.message(storyPoll.id).content.endsWith('🔒 Votación cerrada.') && fake.message(storyPoll.id), { what: 'poll #2 closed' });
    assert.ok(closed.content.endsWith('Votos: Historia A 0 · Historia B 2\n\n🔒 Votación cerrada.'), closed.content);
    assert.deepEqual(closed.components, []);
    assert.equal(channelEdits(storyPoll.id).at(-1)!.auth, `Bot ${fake.token}`);
    assert.equal((await bot!.services.store.getPoll(2))!.status, 'closed');
    assert.equal((await bot!.services.store.getPoll(1))!.status, 'open');
  });

  test('model views: «Palabras» under the reveal and /palabras draw the heatmap with the words gained and lost', async () => {
    const s = bot!.services;
    const clicked = fake.click(revealMsg, 'words:2', luis);
    const shown = await waitML('the «Palabras» heatmap', () => clicked.followups.find((m) => m.attachments.length > 0));
    assert.equal(clicked.callbacks[0]!.type, 6, 'the click is acknowledged without touching the reveal');
    assert.match(shown.content, /^🔥 \*\*¿Qué cambió, palabra a palabra\?\*\* .* en las 100 líneas de evaluación \(vistas al menos 3 veces\)\.$/s);
    const png = shown.attachments[0]!;
    assert.equal(png.filename, 'palabras-votacion-2.png');
    assert.equal(pngSize(png.data).width, 520);
    // the numbers behind it, from the engine: the tuned story of poll #2, and the held-out lines' words
    const poll = (await s.store.getPoll(2))!;
    const tuned = (await pollStories(s, poll))[poll.finetunedChoice === 'A' ? 'a' : 'b'];
    const r = await inspectVia(s, { view: 'words', text: tuned.text.trim(), modelDir: run.modelDir! });
    assert.equal(r.tokens.map((x) => x.piece).join(''), tuned.text.trim());
    assert.ok(r.shifts.gained.length + r.shifts.lost.length > 0, 'some word moved after 20 lines at lr 0.005');
    assert.ok(r.shifts.gained.every((w) => w.delta > 0 && w.count >= 3) && r.shifts.lost.every((w) => w.delta < 0 && w.count >= 3));
    const list = (ws: { word: string }[]) => ws.map((w) => w.word).join(', ') || '(ninguna)';
    assert.ok(png.description!.startsWith(`Mapa de calor de ${r.tokens.length} trozos: `), png.description);
    assert.ok(png.description!.includes(`Palabras ganadas: ${list(r.shifts.gained)}. Perdidas: ${list(r.shifts.lost)}.`), png.description);

    const it = fake.slash('palabras', { texto: 'Dijo don Quijote a Sancho que le siguiese.' }, marta);
    const done = await waitML('/palabras', () => (it.original?.attachments.length ?? 0) > 0 && it.original);
    assert.deepEqual(it.callbacks.map((c) => c.type), [5]);
    assert.match(done.content, /^🔥 \*\*¿Qué cambió/);
    assert.ok(done.attachments[0]!.description!.startsWith('Mapa de calor de '));
    const long = fake.slash('palabras', { texto: 'x'.repeat(1001) }, marta);
    const refused = await fake.waitFor(() => long.original, { what: '/palabras too long' });
    assert.equal(refused.ephemeral, true);
    assert.equal(refused.content, 'Escribe un texto de entre 1 y 1000 caracteres.');
  });

  test('model views: /siguiente shows both models\' top 10; a pick grows the text and redraws the bars', async () => {
    const s = bot!.services;
    const it = fake.slash('siguiente', { prompt: PROMPT, temperatura: 0.7 }, luis);
    const first = await waitML('/siguiente', () => (it.original?.attachments.length ?? 0) > 0 && it.original);
    assert.ok(first.content.startsWith(`🎲 **La clase es el muestreador.** Texto hasta ahora: «${PROMPT}»`), first.content);
    assert.match(first.content, /Temperatura 0,7: por debajo de 1 afila/);
    const expected = await inspectVia(s, { view: 'next', context: PROMPT, modelDir: run.modelDir!, temperature: 0.7 });
    assert.equal(expected.cls.tokens.length, 10);
    const buttons = buttonsOf(first);
    assert.equal(buttons.length, 5);
    buttons.forEach((b, i) => {
      assert.match(b.custom_id, new RegExp(`^next:[0-9a-z]+:${i}$`));
      assert.equal(b.label, `${i + 1}: «${clip(tokenLabel(expected.cls.tokens[i]!.piece), 20)}»`);
    });
    assert.equal(pngSize(first.attachments[0]!.data).width, 520);
    assert.match(first.attachments[0]!.description!, /^Barras de las 10 siguientes más probables: el base prefiere «.*» \([\d,]+\s%\), el de la clase «.*» \([\d,]+\s%\)\.$/);

    const pick = fake.click(first, buttons[1]!.custom_id, marta);
    const grown = PROMPT + expected.cls.tokens[1]!.piece;
    await waitML('the redrawn bars', () => fake.message(first.id).content.includes(`Texto hasta ahora: «${grown}»`));
    assert.equal(pick.callbacks[0]!.type, 6);
    assert.equal(pick.followups[0]!.ephemeral, true, 'the "looking…" notice is for the clicker only');
    const after = fake.message(first.id);
    assert.equal(after.attachments.length, 1, 'the new bars replace the old ones');
    assert.equal(buttonsOf(after).length, 5);
    assert.notEqual(buttonsOf(after)[0]!.custom_id, buttons[0]!.custom_id, 'new buttons for the longer text');
    const again = await inspectVia(s, { view: 'next', context: grown, modelDir: run.modelDir!, temperature: 0.7 });
    assert.equal(buttonsOf(after)[0]!.label, `1: «${clip(tokenLabel(again.cls.tokens[0]!.piece), 20)}»`);
  });

  test('model views: /story intensidad:0.5, and «Película» under the reveal: the poll\'s two stories are frames 1 and 3', async () => {
    const s = bot!.services;
    const it = fake.slash('story', { prompt: PROMPT, intensidad: 0.5 }, marta);
    const dial = await waitML('/story intensidad', () => it.original?.content.startsWith('🎚️') && it.original);
    assert.ok(dial.content.startsWith(`🎚️ **Intensidad 0,5** (0 = modelo base, 1 = modelo de la clase, 1.5 = estilo exagerado)\nComienzo: «${PROMPT}»\n\n`), dial.content);
    assert.deepEqual(buttonsOf(dial).map((b) => b.label), ['Película']);
    assert.match(buttonsOf(dial)[0]!.custom_id, /^film:s[0-9a-z]+$/);
    assert.equal(await s.store.getPoll(4), undefined, 'no poll for a dial story');
    const bad = fake.slash('story', { prompt: PROMPT, intensidad: 2 }, marta);
    await fake.waitFor(() => bad.original, { what: 'intensidad 2 refused' });
    assert.equal(bad.original!.content, 'La intensidad debe estar entre 0 y 1.5, por ejemplo `intensidad:0.5`.');

    const film = fake.click(revealMsg, 'film:p2', luis);
    const strip = await waitML('the film', () => film.followups.find((m) => m.attachments.length > 0));
    assert.match(strip.content, /^🎞️ \*\*Película\*\*: .*\nVotos: 1: 0 · 2: 0 · 3: 0 · 4: 0$/s);
    assert.deepEqual(buttonsOf(strip).map((b) => b.label), ['Fotograma 1', 'Fotograma 2', 'Fotograma 3', 'Fotograma 4']);
    const poll = (await s.store.getPoll(2))!;
    const { a, b } = await pollStories(s, poll);
    const [base, tuned] = poll.finetunedChoice === 'A' ? [b, a] : [a, b];
    const alt = strip.attachments[0]!.description!;
    assert.ok(alt.includes(`1) «${clip(base.text.trim(), 60)}»`), `frame 1 is the poll's base story: ${alt}`);
    assert.ok(alt.includes(`3) «${clip(tuned.text.trim(), 60)}»`), `frame 3 is the poll's class story: ${alt}`);
    assert.equal(pngSize(strip.attachments[0]!.data).width, 520);

    const v1 = await click(strip, buttonsOf(strip)[2]!.custom_id, luis);
    assert.equal(v1.followups[0]!.content, 'Tu voto: fotograma 3. Puedes cambiarlo.');
    await click(strip, buttonsOf(strip)[1]!.custom_id, marta);
    await fake.waitFor(() => fake.message(strip.id).content.endsWith('Votos: 1: 0 · 2: 1 · 3: 1 · 4: 0'), { what: 'the film votes' });
    assert.equal(fake.message(strip.id).attachments.length, 1, 'the film stays');
  });

  test('model views: /atencion draws the word\'s attention per layer; /help explains the views', async () => {
    const it = fake.slash('atencion', { texto: 'El caballero miró a Sancho y le dijo que callase', palabra: 'dijo' }, luis);
    const shown = await waitML('/atencion', () => (it.original?.attachments.length ?? 0) > 0 && it.original);
    assert.ok(shown.content.startsWith('👀 **Atención de «dijo»**: cada fila es un trozo del texto hasta esa palabra y cada columna una capa del modelo (de 1 a 2)'), shown.content);
    assert.match(shown.attachments[0]!.description!, /^Atención de «dijo» en 2 capas\. En la última capa el base se fija sobre todo en «.+» y el de la clase en «.+»\.$/);
    assert.equal(pngSize(shown.attachments[0]!.data).width, 520);
    const missing = fake.slash('atencion', { texto: 'El caballero miró a Sancho', palabra: 'Dulcinea' }, luis);
    await waitML('/atencion unknown word', () => missing.original?.content.includes('Dulcinea') && missing.original);
    assert.equal(missing.original!.content, 'No pude completar `/atencion`: La palabra «Dulcinea» no está en el texto. Escribe una palabra que aparezca tal cual en el texto.');
    assert.equal(missing.followups.length, 0, 'the "looking…" message itself says what went wrong');

    const help = fake.slash('help', {}, luis);
    const views = await fake.waitFor(() => help.followups[0], { what: '/help, its second message' });
    assert.equal(views.ephemeral, true);
    const text = views.content;
    assert.ok(text.startsWith('**Mirar dentro del modelo**'), text);
    for (const c of ['/palabras texto:…', '/siguiente prompt:… [temperatura:…]', '/story prompt:… intensidad:0.5', '/atencion texto:… palabra:…', 'medidor de memorización']) {
      assert.ok(text.includes(c), `/help mentions ${c}`);
    }
  });

  test('restart on the same DATA_DIR: model, polls and votes survive; a run left running is reported interrupted', async () => {
    // Before the restart: a vote on the automatic poll and one more poll nobody has touched yet.
    const eva: Actor = { user: fake.user('eva'), roles: ['Alumnado'] };
    await click(autoPoll, 'vote:1:A', eva);
    const st3 = fake.slash('story', { prompt: 'Érase una vez un hidalgo' }, luis);
    await waitML('poll #3', () => st3.original?.content === 'Votación #3 publicada. ¡A votar!');
    const thirdPoll = pollMessage(3)!;
    const revealed = await revealFacts(bot!.services, 2);
    const poll2 = await pollStories(bot!.services, (await bot!.services.store.getPoll(2))!);
    const tunedBefore = poll2.a.model === 'finetuned' ? poll2.a : poll2.b;
    await bot!.stop();
    bot = undefined;
    await fake.waitFor(() => !fake.gateway.connected, { what: 'the old client disconnected' });

    // As if a process had been killed mid-training: a run still marked 'running' in this class.
    const store = openStore({ dataDir: data.dir, clock: { now: () => Date.now() } });
    const cls = store.findClass(place)!;
    const stale = store.createRun({ classId: cls.id, params: { lines: 300, epochs: 1, lr: 1e-4 }, teacherId: teacher.user!.id });
    store.markRunRunning(stale.id);
    store.close();

    const postsBefore = channelPosts().length;
    ({ bot, logs } = await startE2EBot(env));
    const s = bot.services;
    assert.deepEqual(bot.interrupted.map((r) => [r.run.id, r.previousStatus, r.run.status]), [[stale.id, 'running', 'interrupted']]);
    assert.ok(logs.some((l) => l.includes(`El entrenamiento #${stale.id} de`) && l.includes('estaba en marcha')), logs.join('\n'));
    const notice = await fake.waitFor(() => channelPosts().slice(postsBefore)[0], { what: 'the interrupted notice' });
    assert.equal(notice.auth, `Bot ${fake.token}`);
    assert.equal(notice.body.content, `⚠️ El entrenamiento #${stale.id} (300 líneas) se interrumpió al reiniciar el bot; vuelve a lanzar /train.`);
    assert.equal((await s.store.getRun(stale.id))!.status, 'interrupted');

    // /status: the class model from before the restart, nothing running.
    const st = fake.slash('status', {}, luis);
    const status = await fake.waitFor(() => st.original, { what: '/status' });
    assert.equal(status.ephemeral, true);
    const m = run.metrics!;
    assert.equal(
      status.content.split('\n').slice(0, 3).join('\n'),
      '📋 Trabajos esperando: 0.\nAhora mismo no hay nada en marcha.\n' +
        `Modelo de la clase: afinado con 20 líneas (2 épocas) el ${formatDate(run.finishedAt!)}; ` +
        `perplejidad ${formatNumber('es', m.perplexityBefore, 2)} → ${formatNumber('es', m.perplexityAfter, 2)}.`,
    );

    // /results: the open polls with their vote counts, the revealed one with its tally.
    const rs = fake.slash('results', {}, luis);
    const results = await fake.waitFor(() => rs.original, { what: '/results' });
    const tuned = revealed.tally[revealed.finetunedChoice];
    const share = formatPercent('es', tuned / 2);
    assert.equal(
      results.content,
      [
        '📊 **Resultados de la clase**',
        `• #1 «${clip(DEFAULT_PROMPT, 60)}»: abierta, 1 votos (se sabrá al revelar)`,
        `• #2 «${PROMPT}»: la afinada recibió ${tuned} de 2 votos (${share})`,
        '• #3 «Érase una vez un hidalgo»: abierta, 0 votos (se sabrá al revelar)',
        `En total, la historia afinada se llevó ${share} de los votos (${tuned} de 2) en 1 votaciones reveladas.`,
      ].join('\n'),
    );
    // …and the chart across runs: one bar for run #1, its share equal to the revealed tally.
    assert.equal(results.attachments.length, 1);
    assert.equal(results.attachments[0]!.filename, 'entrenamientos.png');
    assert.match(results.attachments[0]!.description!, new RegExp(`#1: ${share.replace(/[%\s]/g, '.')} \\(2\\), ppl ${formatNumber('es', m.perplexityAfter, 1)}\\.$`));

    // /results exportar:csv: an anonymous CSV attached for the class; with ids:si only the teacher sees it.
    const ex = fake.slash('results', { exportar: 'csv' }, luis);
    const exported = await fake.waitFor(() => ex.original?.attachments.length ? ex.original : undefined, { what: 'the CSV export' });
    assert.equal(exported.ephemeral, false);
    const csv = exported.attachments[0]!.data.toString('utf8');
    assert.equal(parseCsv(csv).length, 4, 'header and three polls');
    assert.ok(!csv.includes(luis.user!.id) && !csv.includes(teacher.user!.id), 'no user id in the anonymous export');
    const exIds = fake.slash('results', { exportar: 'csv', ids: 'si' }, teacher);
    const withIds = await fake.waitFor(() => exIds.original?.attachments.length ? exIds.original : undefined, { what: 'the CSV with ids' });
    assert.equal(withIds.ephemeral, true);
    assert.match(withIds.attachments[0]!.data.toString('utf8'), new RegExp(`${luis.user!.id}:[AB]`));

    // The vote Eva cast before the restart is remembered: she changes it, and the message shows the new count.
    const changed = await click(fake.message(autoPoll.id), 'vote:1:B', eva);
    assert.equal(changed.callbacks[0]!.type, 4);
    assert.equal(changed.original!.content, 'Voto cambiado: Historia A → Historia B.');
    assert.ok(fake.message(autoPoll.id).content.endsWith('Votos emitidos: 1 (el reparto se verá al revelar).'));
    assert.deepEqual(await s.store.tally(1), { A: 0, B: 1, total: 1 });

    // /reveal takes the newest open poll (#3). Nobody clicked it since the restart: its message, posted by the
    // previous process, is closed in place through the stored channel and message id (no buttons left to click).
    const rv3 = fake.slash('reveal', {}, teacher);
    const r3 = await waitML('/reveal of poll #3', () => rv3.original?.content.startsWith('🔍') && rv3.original);
    assert.ok(r3.content.startsWith('🔍 **Votación #3 revelada**\n'), r3.content);
    assert.ok(r3.content.includes('Votos: Historia A 0 · Historia B 0. Nadie votó en esta votación.'), r3.content);
    await waitML('poll #3 closed without a click', () => fake.message(thirdPoll.id).content.endsWith('🔒 Votación cerrada.'));
    assert.deepEqual(fake.message(thirdPoll.id).components, []);
    assert.ok(fake.message(thirdPoll.id).content.endsWith('Votos: Historia A 0 · Historia B 0\n\n🔒 Votación cerrada.'), fake.message(thirdPoll.id).content);
    assert.deepEqual(await s.store.tally(3), { A: 0, B: 0, total: 0 });

    // /reveal again: the automatic poll, closed in place through the handle Eva's click brought back.
    const rv1 = fake.slash('reveal', {}, teacher);
    const r1 = await waitML('/reveal of poll #1', () => rv1.original?.content.startsWith('🔍') && rv1.original);
    assert.ok(r1.content.startsWith('🔍 **Votación #1 revelada**\n'), r1.content);
    const f1 = (await s.store.getPoll(1))!.finetunedChoice;
    assert.ok(r1.content.includes(`Votos: Historia A 0 · Historia B 1. El ${formatPercent('es', f1 === 'B' ? 1 : 0)} detectó la historia afinada (${f1 === 'B' ? 1 : 0} de 1).`), r1.content);
    await waitML('poll #1 closed', () => fake.message(autoPoll.id).content.endsWith('🔒 Votación cerrada.'));
    assert.ok(fake.message(autoPoll.id).content.endsWith('Votos: Historia A 0 · Historia B 1\n\n🔒 Votación cerrada.'));
    assert.deepEqual(fake.message(autoPoll.id).components, []);

    // The new process's engine reloads the fine-tuned folder from disk and writes exactly what the old one wrote.
    assert.equal((await regenerate(s, PROMPT, tunedBefore.seed!, run.modelDir!)).tuned.text, tunedBefore.text);
  });
});
