import assert from 'node:assert/strict';
import { test } from 'node:test';
import { results } from '../commands/results.ts';
import { reveal, revealButton } from '../commands/reveal.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import { vote } from '../commands/vote.ts';
import type { Caller } from '../commands/types.ts';
import { BASE_STORY, TUNED_STORY } from './helpers/fake-engine.ts';
import {
  buttonContext, commandContext, createTestRig, PLACE, settle, STUDENT, STUDENT2, TEACHER, type RecordedMessage, type TestRig,
} from './helpers/fake-context.ts';

async function trainedRig(seed = 7, env: Record<string, string> = {}): Promise<TestRig> {
  const rig = createTestRig({ seed, engine: { steps: 2 }, env });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  return rig;
}

async function runStory(rig: TestRig, prompt: string, user: Caller = STUDENT) {
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt }, user);
  await story.run(ctx);
  return { ctx, poll: rig.channel.posts.at(-1) as RecordedMessage };
}

async function click(rig: TestRig, customId: string, message: RecordedMessage, user: Caller) {
  const ctx = buttonContext(rig.services, rig.channel, customId, message, user);
  await (customId.startsWith('vote:') ? vote : revealButton).run(ctx);
  await settle(); // the poll message is edited after the voter's answer, not before
  return ctx;
}

test('/story before any training tells the class to run /train first', async () => {
  const rig = createTestRig();
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'Érase una vez' }, STUDENT);
  await story.run(ctx);
  assert.equal(ctx.replies.length, 1);
  assert.match(ctx.replies[0].first.text, /aún no tiene modelo afinado.*`\/train`/);
  assert.equal(rig.engine.storyCalls.length, 0);
  assert.equal(rig.channel.posts.length, 0);
});

test('/story rejects an empty or overlong prompt', async () => {
  const rig = await trainedRig();
  for (const prompt of ['   ', 'x'.repeat(301)]) {
    const { ctx } = await runStory(rig, prompt);
    assert.match(ctx.replies[0].first.text, /entre 1 y 300 caracteres/);
    assert.equal(ctx.replies[0].first.ephemeral, true);
  }
});

test('/story posts a blind poll: base and fine-tuned in random order, nothing tells them apart', async () => {
  const rig = await trainedRig(11);
  const store = rig.services.store;
  const choices = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const before = rig.engine.storyCalls.length;
    const { ctx, poll } = await runStory(rig, `Érase una vez un hidalgo número ${i}`);
    assert.deepEqual(ctx.defers, [{}]);
    assert.match(ctx.replies[0].first.text, /Escribiendo dos historias que empiezan por «Érase una vez un hidalgo número \d»… Posición en la cola: 1\./);
    const pollId = Number(/#(\d+)/.exec(poll.first.text)![1]);
    assert.match(ctx.replies[0].current.text, new RegExp(`Votación #${pollId} publicada`));
    const row = (await store.getPoll(pollId))!;
    choices.add(row.finetunedChoice);
    // The fine-tuned text sits in the slot the store says, the base text in the other.
    const text = poll.first.text;
    const [, blockA, blockB] = /\*\*Historia A\*\*\n([\s\S]*?)\n\n\*\*Historia B\*\*\n([\s\S]*?)\n\n/.exec(text)!;
    const [tunedBlock, baseBlock] = row.finetunedChoice === 'A' ? [blockA, blockB] : [blockB, blockA];
    assert.ok(tunedBlock.endsWith(TUNED_STORY.trim()), 'fine-tuned story in its slot');
    assert.ok(baseBlock.endsWith(BASE_STORY.trim()), 'base story in the other slot');
    assert.ok(tunedBlock.startsWith(`Érase una vez un hidalgo número ${i} Y las monjas`), 'an unfinished prompt is shown in front');
    // Blind: neither the text nor the buttons name the models or the model folder.
    const visible = `${text} ${JSON.stringify(poll.first.buttons)}`.toLowerCase();
    for (const leak of ['base', 'afinad', 'fine', 'tuned', 'run-', 'classes/']) assert.ok(!visible.includes(leak), `poll text leaks "${leak}"`);
    assert.deepEqual(poll.first.buttons?.map((b) => [b.id, b.label]), [
      [`vote:${pollId}:A`, 'Historia A'], [`vote:${pollId}:B`, 'Historia B'], [`reveal:${pollId}`, 'Revelar'],
    ]);
    // Same prompt and seed for both models; the seed is stored with the stories.
    const [base, tuned] = rig.engine.storyCalls.slice(before);
    assert.equal(base.modelDir, null);
    assert.equal(tuned.modelDir, (await store.getRun(row.runId))!.modelDir);
    assert.equal(base.seed, tuned.seed);
    assert.equal((await store.getStory(row.storyAId))!.seed, base.seed);
  }
  assert.deepEqual([...choices].sort(), ['A', 'B'], 'both orders occur');
});

test('blind by default: the poll shows how many voted, never the split; a changed vote does not edit it', async () => {
  const rig = await trainedRig();
  const { poll } = await runStory(rig, 'Había una vez');
  const id = Number(/#(\d+)/.exec(poll.first.text)![1]);
  assert.ok(poll.first.text.endsWith('Votos emitidos: 0 (el reparto se verá al revelar).'), poll.first.text);
  await click(rig, `vote:${id}:A`, poll, STUDENT);
  await click(rig, `vote:${id}:B`, poll, STUDENT2);
  assert.ok(poll.current.text.endsWith('Votos emitidos: 2 (el reparto se verá al revelar).'), poll.current.text);
  const edits = poll.edits.length;
  const changed = await click(rig, `vote:${id}:A`, poll, STUDENT2);
  assert.match(changed.replies[0].first.text, /Voto cambiado: Historia B → Historia A\./);
  assert.equal(poll.edits.length, edits, 'the count did not change, so the message is not edited');
  assert.doesNotMatch(poll.current.text, /Historia A \d|Historia B \d|Votos: /);
  assert.deepEqual(await rig.services.store.tally(id), { A: 2, B: 0, total: 2 });
});

test('votes: one per person, changeable, live count edited into the poll message (POLL_LIVE_SPLIT=1)', async () => {
  const rig = await trainedRig(7, { POLL_LIVE_SPLIT: '1' });
  const { poll } = await runStory(rig, 'Había una vez');
  const id = Number(/#(\d+)/.exec(poll.first.text)![1]);
  const votes = () => /Votos: Historia A (\d+) · Historia B (\d+)/.exec(poll.current.text)!.slice(1).map(Number);

  let ctx = await click(rig, `vote:${id}:A`, poll, STUDENT);
  assert.match(ctx.replies[0].first.text, /Tu voto: Historia A\./);
  assert.equal(ctx.replies[0].first.ephemeral, true);
  assert.deepEqual(votes(), [1, 0]);
  ctx = await click(rig, `vote:${id}:B`, poll, STUDENT);
  assert.match(ctx.replies[0].first.text, /Voto cambiado: Historia A → Historia B\./);
  assert.deepEqual(votes(), [0, 1]);
  await click(rig, `vote:${id}:B`, poll, STUDENT2);
  assert.deepEqual(votes(), [0, 2]);
  ctx = await click(rig, `vote:${id}:B`, poll, STUDENT2);
  assert.match(ctx.replies[0].first.text, /Ya habías votado la Historia B/);
  await click(rig, `vote:${id}:A`, poll, TEACHER);
  assert.deepEqual(votes(), [1, 2]);
  assert.deepEqual(await rig.services.store.tally(id), { A: 1, B: 2, total: 3 });
  assert.equal(poll.current.buttons?.length, 3, 'buttons stay while open');

  // Many clicks at once: the message ends with the final count.
  const crowd = Array.from({ length: 9 }, (_, i) => ({ id: `kid${i}`, displayName: `Kid ${i}`, isTeacher: false }));
  await Promise.all(crowd.map((u, i) => click(rig, `vote:${id}:${i % 3 === 0 ? 'A' : 'B'}`, poll, u)));
  await settle();
  assert.deepEqual(votes(), [1 + 3, 2 + 6]);

  // A poll of another class, or a malformed id, is not found.
  const elsewhere = buttonContext(rig.services, rig.channel, `vote:${id}:A`, poll, STUDENT, { ...PLACE, channelId: 'other' });
  await vote.run(elsewhere);
  assert.match(elsewhere.replies[0].first.text, /No encuentro esa votación/);
  const bad = await click(rig, `vote:${id}:C`, poll, STUDENT);
  assert.match(bad.replies[0].first.text, /No encuentro esa votación/);
});

test('reveal: teachers only; says which story was fine-tuned, the tally and the corpus traces; closes the poll', async () => {
  const rig = await trainedRig(3);
  const { poll } = await runStory(rig, 'Érase una vez');
  const id = Number(/#(\d+)/.exec(poll.first.text)![1]);
  const row = (await rig.services.store.getPoll(id))!;
  const other = row.finetunedChoice === 'A' ? 'B' : 'A';
  await click(rig, `vote:${id}:${row.finetunedChoice}`, poll, STUDENT);
  await click(rig, `vote:${id}:${row.finetunedChoice}`, poll, STUDENT2);
  await click(rig, `vote:${id}:${other}`, poll, { id: 's3', displayName: 'S3', isTeacher: false });

  const refused = await click(rig, `reveal:${id}`, poll, STUDENT);
  assert.match(refused.replies[0].first.text, /Solo el profesorado puede usar `\/reveal`/);
  const refusedCmd = commandContext(rig.services, rig.channel, 'reveal', {}, STUDENT);
  await reveal.run(refusedCmd);
  assert.match(refusedCmd.replies[0].first.text, /Solo el profesorado/);
  assert.equal((await rig.services.store.getPoll(id))!.status, 'open');

  const ctx = commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER);
  await reveal.run(ctx);
  const text = ctx.replies[0].first.text;
  assert.match(text, new RegExp(`Votación #${id} revelada`));
  assert.match(text, new RegExp(`era la \\*\\*Historia ${row.finetunedChoice}\\*\\*`));
  const tally = await rig.services.store.tally(id);
  assert.match(text, new RegExp(`Votos: Historia A ${tally.A} · Historia B ${tally.B}\\. El 67\\s% detectó la historia afinada \\(2 de 3\\)\\.`));
  // Traces against the 5 training lines only: line 6 ("libros de caballerías…") was not trained on.
  assert.match(text, /\*\*en un lugar de la Mancha\*\*/);
  assert.match(text, /\*\*rocín flaco y galgo corredor\*\*/);
  assert.ok(!text.includes('**libros de caballerías'), 'lines outside the training set are not traces');
  assert.match(text, /Secuencias copiadas de las líneas de entrenamiento: «en un lugar de la Mancha», «rocín flaco y galgo corredor»/);
  assert.match(text, /\(en negrita, \d+\s%/);
  assert.ok(text.includes('_Érase una vez_ '), 'the unfinished prompt is shown before the story');

  // Closed: the poll message lost its buttons, later votes are refused politely.
  assert.equal((await rig.services.store.getPoll(id))!.status, 'closed');
  assert.deepEqual(poll.current.buttons, []);
  assert.match(poll.current.text, /🔒 Votación cerrada\./);
  const late = await click(rig, `vote:${id}:A`, poll, STUDENT);
  assert.match(late.replies[0].first.text, /ya está cerrada/);
  assert.deepEqual(await rig.services.store.tally(id), tally);

  // /reveal then takes the next open poll (the automatic one after /train), then there is none.
  const next = commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER);
  await reveal.run(next);
  assert.match(next.replies[0].first.text, /Votación #1 revelada[\s\S]*Votos: Historia A 0 · Historia B 0\. Nadie votó en esta votación\./);
  const none = commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER);
  await reveal.run(none);
  assert.match(none.replies[0].first.text, /No hay ninguna votación abierta/);
});

test('the Revelar button reveals that poll and edits the clicked message', async () => {
  const rig = await trainedRig();
  const { poll } = await runStory(rig, 'Un caballero andante.');
  const id = Number(/#(\d+)/.exec(poll.first.text)![1]);
  const ctx = await click(rig, `reveal:${id}`, poll, TEACHER);
  assert.match(ctx.replies.at(-1)!.first.text, new RegExp(`Votación #${id} revelada`));
  assert.ok(!ctx.replies.at(-1)!.first.text.includes('_Un caballero andante._'), 'a finished prompt is not repeated');
  assert.deepEqual(poll.current.buttons, []);
  const again = await click(rig, `reveal:${id}`, poll, TEACHER);
  assert.match(again.replies[0].first.text, /ya está cerrada/);
});

test('/results: revealed polls give the fine-tuned share; open polls stay blind', async () => {
  const rig = await trainedRig(5);
  const empty = createTestRig();
  const none = commandContext(empty.services, empty.channel, 'results', {}, STUDENT);
  await results.run(none);
  assert.match(none.replies[0].first.text, /Todavía no hay votaciones/);

  const auto = rig.channel.posts.at(-1)!; // poll #1 from /train
  const row1 = (await rig.services.store.getPoll(1))!;
  const other1 = row1.finetunedChoice === 'A' ? 'B' : 'A';
  await click(rig, `vote:1:${row1.finetunedChoice}`, auto, STUDENT);
  await click(rig, `vote:1:${other1}`, auto, STUDENT2);
  await click(rig, `vote:1:${row1.finetunedChoice}`, auto, TEACHER);
  await click(rig, `vote:1:${row1.finetunedChoice}`, auto, { id: 's4', displayName: 'S4', isTeacher: false });

  let ctx = commandContext(rig.services, rig.channel, 'results', {}, STUDENT);
  await results.run(ctx);
  assert.match(ctx.replies[0].first.text, /#1 «Escribe cinco oraciones sobre un colegio de monjas quijotes…»: abierta, 4 votos/);
  assert.match(ctx.replies[0].first.text, /Aún no se ha revelado ninguna votación/);
  assert.ok(!/afinada recibió/.test(ctx.replies[0].first.text), 'no share for open polls');

  await reveal.run(commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER));
  const { poll: p2 } = await runStory(rig, 'Otra historia');
  const row2 = (await rig.services.store.getPoll(2))!;
  await click(rig, `vote:2:${row2.finetunedChoice === 'A' ? 'B' : 'A'}`, p2, STUDENT);
  await reveal.run(commandContext(rig.services, rig.channel, 'reveal', {}, TEACHER));
  await runStory(rig, 'Tercera');

  ctx = commandContext(rig.services, rig.channel, 'results', {}, STUDENT);
  await results.run(ctx);
  const text = ctx.replies[0].first.text;
  assert.match(text, /#1 .*: la afinada recibió 3 de 4 votos \(75\s%\)/);
  assert.match(text, /#2 «Otra historia»: la afinada recibió 0 de 1 votos \(0\s%\)/);
  assert.match(text, /#3 «Tercera»: abierta, 0 votos/);
  assert.match(text, /la historia afinada se llevó 60\s% de los votos \(3 de 5\) en 2 votaciones reveladas/);
});

test('English locale: /story before training answers in English', async () => {
  const rig = createTestRig({ env: { LOCALE: 'en' } });
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'Once upon a time' }, STUDENT);
  await story.run(ctx);
  assert.equal(ctx.replies[0].first.text, 'This class has no fine-tuned model yet: a teacher must run `/train` first, e.g. `/train lines:500`.');
});
