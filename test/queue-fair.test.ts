/**
 * The queue is fair and bounded: per-person and global limits with friendly refusals, classes served in turn on
 * the GPU (a flood in one class delays another class's training by at most one story per step), a teacher clears
 * the class's queue, and /cancel of a /story that is already generating posts no poll.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancel } from '../commands/cancel.ts';
import { story } from '../commands/story.ts';
import { train } from '../commands/train.ts';
import type { Caller } from '../commands/types.ts';
import { createJobQueue } from '../core/jobs/memory-queue.ts';
import type { QueueTask } from '../core/jobs/types.ts';
import { FakeEngine } from './helpers/fake-engine.ts';
import { commandContext, createTestRig, ManualClock, settle, STUDENT, STUDENT2, TEACHER, type TestRig } from './helpers/fake-context.ts';

async function trainedRig(env: Record<string, string> = {}): Promise<TestRig> {
  const rig = createTestRig({ engine: { steps: 1 }, env });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  return rig;
}

const user = (i: number): Caller => ({ id: `u${i}`, displayName: `Alumno ${i}`, isTeacher: false });

test('per person: 2 waiting jobs; the third is refused saying how many are waiting; others still get in', async () => {
  const rig = await trainedRig();
  rig.engine.gate.hold('story:base');
  const running = story.run(commandContext(rig.services, rig.channel, 'story', { prompt: 'Cero' }, STUDENT2));
  await rig.engine.gate.reached('story:base');
  await settle();
  const runs: Promise<void>[] = [];
  const ctxs = ['Uno', 'Dos', 'Tres'].map((prompt) => commandContext(rig.services, rig.channel, 'story', { prompt }, STUDENT));
  for (const c of ctxs) runs.push(story.run(c));
  await settle();
  assert.match(ctxs[0]!.replies[0]!.first.text, /Posición en la cola: 1\./);
  assert.match(ctxs[1]!.replies[0]!.first.text, /Posición en la cola: 2\./);
  assert.equal(ctxs[2]!.replies[0]!.first.text, 'Ya tienes 2 peticiones esperando turno (el máximo por persona es 2). Espera a que salga una y vuelve a pedir; así todos tienen sitio.');
  assert.equal(ctxs[2]!.replies[0]!.first.ephemeral, true);
  assert.deepEqual(ctxs[2]!.defers, [], 'refused before any public "thinking…"');
  const other = commandContext(rig.services, rig.channel, 'story', { prompt: 'Otra' }, user(9));
  runs.push(story.run(other));
  await settle();
  assert.match(other.replies[0]!.first.text, /Posición en la cola: 3\./);
  rig.engine.gate.release('story:base');
  await Promise.all([running, ...runs]);
  // Once they ran, the same person may ask again.
  const again = commandContext(rig.services, rig.channel, 'story', { prompt: 'Otra vez' }, STUDENT);
  await story.run(again);
  assert.match(again.replies.at(-1)!.current.text, /Votación #\d+ publicada/);
});

test('the whole queue has a cap; the refusal says when to try again', async () => {
  const rig = await trainedRig({ QUEUE_MAX: '3' });
  rig.engine.gate.hold('story:base');
  const runs = [story.run(commandContext(rig.services, rig.channel, 'story', { prompt: 'p0' }, user(0)))];
  await rig.engine.gate.reached('story:base');
  await settle();
  const ctxs = [1, 2, 3, 4].map((i) => commandContext(rig.services, rig.channel, 'story', { prompt: `p${i}` }, user(i)));
  for (const c of ctxs) runs.push(story.run(c));
  await settle();
  assert.match(ctxs[2]!.replies[0]!.first.text, /Posición en la cola: 3\./);
  assert.equal(ctxs[3]!.replies[0]!.first.text, 'La cola está llena: hay 3 trabajos esperando. Vuelve a intentarlo dentro de unos 2 min.');
  rig.engine.gate.release('story:base');
  await Promise.all(runs);
});

test('classes take turns: a flood of stories in class A delays class B\'s training by at most one story per step', async () => {
  const clock = new ManualClock();
  const jobs = createJobQueue({ clock });
  const engine = new FakeEngine({ steps: 6 });
  const A = { platform: 'discord', teamId: 'T', channelId: 'A' } as const;
  const B = { platform: 'discord', teamId: 'T', channelId: 'B' } as const;
  let id = 0;
  const mk = <T>(kind: 'train' | 'story', place: typeof A | typeof B, run: QueueTask<T>['run']): QueueTask<T> => ({
    info: { id: String(++id), kind, ownerId: 'x', place, status: 'queued', createdAt: 0 }, run,
  });
  const events: string[] = [];
  const training = jobs.submit(mk('train', B, ({ slice, signal }) => engine.train({ lines: 5, epochs: 1 }, '/tmp/x', {
    slice: (fn) => slice(async () => (events.push('B:step'), fn())), signal,
  })));
  await settle(2);
  const stories = Array.from({ length: 12 }, () => jobs.submit(mk('story', A, async () => void events.push('A:story'))));
  // Positions follow the turns: A's stories interleave with B's steps.
  const positions = stories.map((s) => jobs.position(s.info.id)!);
  assert.ok(positions[0]! <= 1 && positions.every((p, i) => i === 0 || p === positions[i - 1]! + 1), `positions ${positions}`);
  await Promise.all([training.result, ...stories.map((s) => s.result)]);
  const steps = events.flatMap((e, i) => (e === 'B:step' ? [i] : []));
  assert.ok(steps.length >= 6, events.join(' ')); // 6 optimizer steps (+ the evaluation's slice)
  for (let k = 1; k < steps.length; k++) {
    assert.ok(steps[k]! - steps[k - 1]! - 1 <= 1, `at most one story between steps: ${events.join(' ')}`);
  }
  assert.equal(events.filter((e) => e === 'A:story').length, 12);
});

test('a teacher clears the class queue with /cancel; only that class is touched', async () => {
  const rig = await trainedRig();
  rig.engine.gate.hold('story:base');
  const runs = [story.run(commandContext(rig.services, rig.channel, 'story', { prompt: 'corre' }, user(1)))];
  await rig.engine.gate.reached('story:base');
  await settle();
  for (let i = 2; i < 6; i++) runs.push(story.run(commandContext(rig.services, rig.channel, 'story', { prompt: `espera ${i}` }, user(i))));
  await settle();
  assert.equal(await rig.services.compute.queuedCount(), 4);
  const ctx = commandContext(rig.services, rig.channel, 'cancel', {}, TEACHER);
  await cancel.run(ctx);
  assert.match(ctx.replies[0]!.first.text, /^Cancelado: /);
  assert.equal((ctx.replies[0]!.first.text.match(/historias de/g) ?? []).length, 5);
  await settle();
  assert.equal(await rig.services.compute.queuedCount(), 0);
  rig.engine.gate.release('story:base');
  await Promise.all(runs);
});

test('/cancel of a /story that is already generating: its poll is never posted', async () => {
  const rig = await trainedRig();
  const postsBefore = rig.channel.posts.length;
  rig.engine.gate.hold('story:tuned'); // the base story is written; the fine-tuned one is being generated
  const ctx = commandContext(rig.services, rig.channel, 'story', { prompt: 'A medias' }, STUDENT);
  const run = story.run(ctx);
  await rig.engine.gate.reached('story:tuned');
  await settle();
  const c = commandContext(rig.services, rig.channel, 'cancel', {}, STUDENT);
  await cancel.run(c);
  assert.match(c.replies[0]!.first.text, /Cancelado: #\d+ historias de Luis \(A medias\)\./);
  rig.engine.gate.release('story:tuned'); // the engine finishes anyway; the result must be dropped
  await run;
  await rig.services.compute.idle();
  await settle();
  assert.equal(rig.channel.posts.length, postsBefore, 'no poll posted');
  assert.match(ctx.replies.at(-1)!.first.text, /No pude completar `\/story`: el trabajo se canceló\./);
  const cls = (await rig.services.store.findClass(ctx.place))!;
  assert.equal((await rig.services.store.listPolls(cls.id)).length, 1, 'only the automatic poll');
});
