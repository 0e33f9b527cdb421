/**
 * End to end on Slack: the real bot (startBot: config, real ML engine on the tiny golden GPT-2 and the real
 * Quijote, SQLite store, job queue, commands) through the real Bolt app in Socket Mode against the fake Slack.
 * A teacher trains on 20 lines, a student asks for a story, two students vote (one changes), the teacher reveals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatNumber } from '../commands/messages.ts';
import { pollStories } from '../commands/poll.ts';
import { clip, joinStory } from '../commands/respond.ts';
import { escapeMarkdown } from '../commands/text-safety.ts';
import { cutStory } from '../core/story/sentences.ts';
import { toMrkdwn } from '../bot/slack/blocks.ts';
import type { RunningBot } from '../bot/start.ts';
import type { RunRow } from '../core/store/types.ts';
import { FakeSlack, type ApiCall, type FakeMessage } from './helpers/fake-slack.ts';
import {
  doneRun, e2eEnv, EPOCHS, metricLines, missingBook, ML_TIMEOUT_MS, pngSize, revealFacts, regenerate, startE2EBot,
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
    run = doneRun(bot!.services, place());
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

    // The results: mrkdwn text with the teacher mentioned and the stored metrics, then the PNG upload into the channel.
    const lines = metricLines(run);
    assert.equal(
      announced.args.text,
      `<@${TEACHER}> ¡Modelo de la clase afinado con 20 líneas del Quijote!\n${lines.loss}\n${lines.ppl}\nAhora votad a ciegas qué historia suena más a Cervantes.`,
    );
    assert.equal(sections(announced), announced.args.text);
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
    const poll = s.store.getPoll(2)!;
    assert.equal(poll.prompt, PROMPT);
    assert.equal(poll.createdBy, ANA);
    assert.equal(poll.messageId, storyPoll.ts);
    assert.equal(poll.channelId, CHANNEL);
    const { a, b } = pollStories(s, poll);
    assert.deepEqual([a.model, b.model].sort(), ['base', 'finetuned']);
    const show = (text: string) => clip(escapeMarkdown(joinStory(PROMPT, text)), 800);
    const few = ([['A', a], ['B', b]] as const)
      .map(([c, st]) => [c, cutStory(st.text)] as const)
      .filter(([, cut]) => !cut.complete)
      .map(([c, cut]) => `⚠️ La Historia ${c} solo tiene ${cut.sentences} de 5 oraciones: el modelo paró antes (el profesorado puede subir MAX_NEW_TOKENS a ~220 o bajar TEMPERATURE a 0,8).`);
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
    assert.deepEqual(bot!.services.store.tally(2), { A: 0, B: 2, total: 2 });
  });

  test('/reveal: students are refused; the teacher gets which story was tuned, the tally and the corpus traces', async () => {
    await fake.slash('/reveal', '', { userId: LUIS, channelId: CHANNEL });
    const refusal = await fake.waitFor(() => ephemeralsTo(LUIS).find((c) => /profesorado/.test(c.args.text)), 'student /reveal refused');
    assert.equal(refusal.args.text, 'Solo el profesorado puede usar /reveal.');
    assert.equal(bot!.services.store.getPoll(2)!.status, 'open');

    const facts = await revealFacts(bot!.services, 2);
    const before = posts().length;
    await fake.slash('/reveal', '', { userId: TEACHER, channelId: CHANNEL });
    const answer = await waitML('/reveal answer', () => posts().slice(before).find((c) => c.args.text.startsWith('🔍')));
    assert.equal(answer.args.channel, CHANNEL);
    const head =
      `🔍 **Votación #2 revelada**\nLa historia del modelo de la clase (afinado) era la **Historia ${facts.finetunedChoice}**; ` +
      `la otra salió del modelo base.\nVotos: Historia A 0 · Historia B 2. ${facts.share}`;
    const traces = `Rastros del Quijote en la historia afinada (en negrita, ${facts.coverage} del texto):\n_${PROMPT}_ ${facts.highlighted}`;
    assert.equal(answer.args.text, toMrkdwn([head, traces, facts.tracesLine].join('\n\n')));

    // The poll message is closed in place: final count, "closed", no actions block.
    const closed = await fake.waitFor(() => fake.messages.get(storyPoll.ts)!.text.endsWith('🔒 Votación cerrada.') && fake.messages.get(storyPoll.ts)!, 'poll #2 closed');
    assert.ok(closed.text.endsWith('Votos: Historia A 0 · Historia B 2\n\n🔒 Votación cerrada.'), closed.text);
    assert.deepEqual(closed.blocks.map((b: { type: string }) => b.type), ['section']);
    assert.deepEqual(fake.buttons(storyPoll.ts), []);
    assert.equal(bot!.services.store.getPoll(2)!.status, 'closed');
    assert.equal(bot!.services.store.getPoll(1)!.status, 'open'); // only the latest poll was revealed
  });
});
