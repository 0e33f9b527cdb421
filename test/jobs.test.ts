import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isQuijoteError } from '../core/errors.ts';
import { createJobQueue } from '../core/jobs/memory-queue.ts';
import type { JobKind, JobQueue, QueueTask } from '../core/jobs/types.ts';
import { FakeEngine, Gate, deferred } from './helpers/fake-engine.ts';
import { ManualClock, settle } from './helpers/fake-context.ts';

const place = { platform: 'discord', teamId: 'T', channelId: 'C' } as const;
let seq = 0;

/** A queue task as the executor builds it from a job request. */
function task<T>(o: { kind: JobKind; ownerId: string; ownerName?: string; label?: string; createdAt?: number; run: QueueTask<T>['run'] }): QueueTask<T> {
  return {
    info: { id: String(++seq), kind: o.kind, ownerId: o.ownerId, ownerName: o.ownerName, place, label: o.label, status: 'queued', createdAt: o.createdAt ?? 0 },
    run: o.run,
  };
}

function setup(steps = 4) {
  const gate = new Gate();
  const engine = new FakeEngine({ steps, gate });
  const jobs = createJobQueue({ clock: new ManualClock() });
  return { gate, engine, jobs };
}

function submitTrain(jobs: JobQueue, engine: FakeEngine, owner = 'teacher') {
  return jobs.submit(task({
    kind: 'train', ownerId: owner,
    run: ({ signal, slice }) => engine.train({ lines: 10, epochs: 1 }, '/tmp/out', { signal, slice }),
  }));
}

function submitStory(jobs: JobQueue, engine: FakeEngine, owner = 'student') {
  return jobs.submit(task({
    kind: 'story', ownerId: owner,
    run: ({ slice }) => engine.story('Érase', null, { slice }),
  }));
}

test('a story submitted during a training runs after the current step, before the next one', async () => {
  const { gate, engine, jobs } = setup(4);
  gate.hold('train:2');
  const training = submitTrain(jobs, engine);
  await gate.reached('train:2'); // step 2 holds the GPU
  const story = submitStory(jobs, engine);
  assert.equal(jobs.position(story.info.id), 1);
  assert.equal(jobs.position(training.info.id), 0);
  await settle();
  assert.deepEqual(engine.events, ['train:1', 'train:2'], 'the story waits for the running step');
  gate.release('train:2');
  await story.result;
  await training.result;
  assert.deepEqual(engine.events, ['train:1', 'train:2', 'story:base', 'train:3', 'train:4', 'eval:after']);
  assert.equal(training.info.status, 'done');
  assert.equal(story.info.status, 'done');
});

test('several stories and scores waiting all run before the training resumes, in submission order', async () => {
  const { gate, engine, jobs } = setup(3);
  gate.hold('train:1');
  const training = submitTrain(jobs, engine);
  await gate.reached('train:1');
  const s1 = submitStory(jobs, engine, 'a');
  const sc = jobs.submit(task({ kind: 'score', ownerId: 'b', run: ({ slice }) => engine.score('hola', '/m', { slice }) }));
  const s2 = submitStory(jobs, engine, 'c');
  assert.deepEqual([s1, sc, s2].map((j) => jobs.position(j.info.id)), [1, 2, 3]);
  assert.equal(jobs.queuedCount(), 3);
  assert.deepEqual(jobs.active().map((j) => j.id), [training.info.id, s1.info.id, sc.info.id, s2.info.id]);
  gate.release('train:1');
  await Promise.all([training.result, s1.result, sc.result, s2.result]);
  assert.deepEqual(engine.events, ['train:1', 'story:base', 'score:tuned', 'story:base', 'train:2', 'train:3', 'eval:after']);
});

test('a story submitted while a training step is already waiting for the GPU still goes first (priority)', async () => {
  const { gate, engine, jobs } = setup(2);
  gate.hold('story:base');
  const s1 = submitStory(jobs, engine, 'a');
  await gate.reached('story:base');
  const training = submitTrain(jobs, engine);
  await settle(); // step 1 is now queued on the GPU behind s1
  const s2 = jobs.submit(task({ kind: 'score', ownerId: 'b', run: ({ slice }) => engine.score('hola', null, { slice }) }));
  gate.release('story:base');
  await Promise.all([s1.result, s2.result, training.result]);
  assert.deepEqual(engine.events, ['story:base', 'score:base', 'train:1', 'train:2', 'eval:after']);
});

test('trainings run one after another; positions count within the training lane', async () => {
  const { gate, engine, jobs } = setup(2);
  gate.hold('train:1');
  const t1 = submitTrain(jobs, engine, 'x');
  const t2 = submitTrain(jobs, engine, 'y');
  const t3 = submitTrain(jobs, engine, 'z');
  await gate.reached('train:1');
  assert.deepEqual([t1, t2, t3].map((j) => jobs.position(j.info.id)), [0, 1, 2]);
  assert.deepEqual([t1, t2, t3].map((j) => j.info.status), ['running', 'queued', 'queued']);
  gate.release('train:1');
  await Promise.all([t1.result, t2.result, t3.result]);
  assert.equal(engine.trainCalls.length, 3);
  assert.deepEqual(engine.events, ['train:1', 'train:2', 'eval:after', 'train:1', 'train:2', 'eval:after', 'train:1', 'train:2', 'eval:after']);
  assert.equal(jobs.position(t1.info.id), undefined);
  await jobs.idle();
});

test('cancelling a queued job removes it: it never runs and its result rejects with CANCELLED', async () => {
  const { gate, engine, jobs } = setup(2);
  gate.hold('story:base');
  const first = submitStory(jobs, engine, 'a');
  const second = submitStory(jobs, engine, 'b');
  const third = submitStory(jobs, engine, 'c');
  await gate.reached('story:base');
  assert.equal(jobs.cancel(second.info.id), true);
  assert.equal(second.info.status, 'cancelled');
  assert.equal(jobs.position(second.info.id), undefined);
  assert.equal(jobs.position(third.info.id), 1, 'the job behind moves up');
  await assert.rejects(second.result, (e) => isQuijoteError(e, 'CANCELLED'));
  gate.release('story:base');
  await Promise.all([first.result, third.result]);
  assert.equal(engine.storyCalls.length, 2);
  assert.equal(jobs.cancel(second.info.id), false, 'a finished job cannot be cancelled again');
});

test('cancelling a running training aborts its signal; it stops at the next step and the next training starts', async () => {
  const { gate, engine, jobs } = setup(5);
  gate.hold('train:2');
  const t1 = submitTrain(jobs, engine, 'x');
  const t2 = submitTrain(jobs, engine, 'y');
  await gate.reached('train:2');
  assert.equal(jobs.cancel(t1.info.id), true);
  assert.equal(t1.info.status, 'running', 'still running until the step boundary');
  assert.equal(jobs.position(t2.info.id), 1, 'the next training waits for the cancelled one to stop');
  gate.release('train:2');
  await assert.rejects(t1.result, (e) => isQuijoteError(e, 'CANCELLED'));
  assert.equal(t1.info.status, 'cancelled');
  await t2.result;
  assert.deepEqual(engine.events, ['train:1', 'train:2', 'train:1', 'train:2', 'train:3', 'train:4', 'train:5', 'eval:after']);
});

test('a training step waiting behind a story is dropped when the training is cancelled', async () => {
  const { gate, engine, jobs } = setup(3);
  gate.hold('story:base');
  const story = submitStory(jobs, engine);
  await gate.reached('story:base');
  const training = submitTrain(jobs, engine);
  await settle();
  assert.equal(training.info.status, 'running');
  assert.deepEqual(engine.events, ['story:base'], 'step 1 waits for the GPU');
  jobs.cancel(training.info.id);
  await assert.rejects(training.result, (e) => isQuijoteError(e, 'CANCELLED'));
  gate.release('story:base');
  await story.result;
  await jobs.idle();
  assert.deepEqual(engine.events, ['story:base'], 'the dropped step never ran');
});

test('a failing job is reported as failed and the queue keeps going; idle() waits for everything', async () => {
  const { engine, jobs } = setup(2);
  const boom = new Error('boom');
  const failing = jobs.submit(task({ kind: 'score', ownerId: 'a', run: async () => { throw boom; } }));
  const after = submitStory(jobs, engine);
  await assert.rejects(failing.result, (e) => e === boom);
  assert.equal(failing.info.status, 'failed');
  await after.result;
  let idle = false;
  const gateOpen = deferred();
  jobs.submit(task({ kind: 'story', ownerId: 'b', run: () => gateOpen.promise }));
  const waiting = jobs.idle().then(() => (idle = true));
  await settle();
  assert.equal(idle, false);
  gateOpen.resolve();
  await waiting;
  assert.equal(idle, true);
  assert.equal(jobs.active().length, 0);
});

test('job info carries id, kind, owner, place; start and end times from the injected clock', async () => {
  const clock = new ManualClock(1000);
  const jobs = createJobQueue({ clock });
  const d = deferred<number>();
  const job = jobs.submit(task({ kind: 'score', ownerId: 'u1', ownerName: 'Ana', label: 'hola', createdAt: clock.now(), run: () => d.promise }));
  assert.equal(job.info.kind, 'score');
  assert.equal(job.info.ownerId, 'u1');
  assert.equal(job.info.ownerName, 'Ana');
  assert.deepEqual(job.info.place, place);
  assert.equal(job.info.createdAt, 1000);
  assert.equal(jobs.get(job.info.id), job.info);
  clock.advance(500);
  d.resolve(42);
  assert.equal(await job.result, 42);
  assert.equal(job.info.startedAt, 1000);
  assert.equal(job.info.finishedAt, 1500);
  assert.equal(jobs.get(job.info.id), undefined);
});
