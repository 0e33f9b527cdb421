import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { isQuijoteError } from '../core/errors.ts';
import { migrate, migrations } from '../core/store/migrations.ts';
import { classDir, runModelDir, STORE_FILE } from '../core/store/paths.ts';
import { openStore, type Store } from '../core/store/store.ts';
import { ManualClock } from './helpers/fake-context.ts';

const place = { platform: 'discord', teamId: 'G1', channelId: 'C1' } as const;
const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-store-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function seedClass(store: Store) {
  const cls = store.ensureClass(place);
  const run = store.createRun({ classId: cls.id, params: { lines: 500, epochs: 2, lr: 1e-4, seed: 42 }, teacherId: 'prof' });
  return { cls, run };
}

test('migrations run once: reopening applies nothing and the migrations table lists each one', () => {
  const dir = tmp();
  const clock = new ManualClock(5000);
  const s1 = openStore({ dataDir: dir, clock });
  assert.deepEqual(s1.appliedMigrations, migrations.map((m) => m.id));
  assert.equal(s1.file, path.join(dir, STORE_FILE));
  assert.ok(fs.existsSync(path.join(dir, `${STORE_FILE}-wal`)), 'WAL journal in use');
  s1.close();
  const s2 = openStore({ dataDir: dir, clock });
  assert.deepEqual(s2.appliedMigrations, []);
  s2.close();
  const db = new Database(path.join(dir, STORE_FILE));
  const rows = db.prepare('SELECT id, applied_at FROM migrations ORDER BY id').all() as Array<{ id: number; applied_at: number }>;
  assert.deepEqual(rows, migrations.map((m) => ({ id: m.id, applied_at: 5000 })));
  assert.deepEqual(migrate(db, 9999), []);
  db.close();
});

test('a database from a newer version (unknown migration) is refused with BAD_CONFIG', () => {
  const db = new Database(':memory:');
  migrate(db, 1);
  db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', 2);
  assert.throws(() => migrate(db, 3), (e) => isQuijoteError(e, 'BAD_CONFIG') && /999/.test(e.message));
  db.close();
});

test('a new migration is applied on top of an existing database', () => {
  const db = new Database(':memory:');
  migrate(db, 1);
  const next = Math.max(...migrations.map((m) => m.id)) + 1;
  const extra = [...migrations, { id: next, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' }];
  assert.deepEqual(migrate(db, 2, extra), [next]);
  assert.deepEqual(migrate(db, 3, extra), []);
  db.close();
});

test('reopening keeps classes, runs, stories, polls and votes', () => {
  const dir = tmp();
  const clock = new ManualClock(1_000);
  const s1 = openStore({ dataDir: dir, clock });
  const { cls, run } = seedClass(s1);
  clock.advance(10);
  s1.markRunRunning(run.id);
  clock.advance(10);
  const metrics = { method: 'full' as const, evalLossBefore: 4, evalLossAfter: 3, perplexityBefore: 54.6, perplexityAfter: 20.1, optimizerSteps: 8, seconds: 12 };
  s1.completeRun(run.id, { metrics, lossCurve: [{ step: 1, loss: 4 }, { step: 2, loss: 3.5 }], modelDir: '/data/run-1' });
  const a = s1.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'P', text: 'tuned', seed: 3 });
  const b = s1.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'P', text: 'base', seed: 3 });
  const poll = s1.createPoll({ classId: cls.id, runId: run.id, prompt: 'P', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'prof' });
  s1.setPollMessage(poll.id, 'C1', 'M77');
  s1.castVote(poll.id, 'u1', 'A');
  s1.castVote(poll.id, 'u2', 'B');
  s1.close();

  const s2 = openStore({ dataDir: dir, clock });
  assert.deepEqual(s2.findClass(place), cls);
  const done = s2.latestDoneRun(cls.id);
  assert.ok(done);
  assert.equal(done.status, 'done');
  assert.deepEqual(done.params, { lines: 500, epochs: 2, lr: 1e-4, seed: 42 });
  assert.deepEqual(done.metrics, metrics);
  assert.deepEqual(done.lossCurve, [{ step: 1, loss: 4 }, { step: 2, loss: 3.5 }]);
  assert.equal(done.modelDir, '/data/run-1');
  assert.deepEqual([done.createdAt, done.startedAt, done.finishedAt], [1000, 1010, 1020]);
  const p = s2.getPoll(poll.id);
  assert.ok(p);
  assert.equal(p.messageId, 'M77');
  assert.equal(p.finetunedChoice, 'A');
  assert.equal(s2.getStory(p.storyAId)?.text, 'tuned');
  assert.deepEqual(s2.tally(poll.id), { A: 1, B: 1, total: 2 });
  assert.equal(s2.latestOpenPoll(cls.id)?.id, poll.id);
  assert.deepEqual(s2.recoverInterruptedRuns(), []);
  s2.close();
});

test('one vote per user and poll: voting again changes it; closed polls refuse votes', () => {
  const store = openStore({ dataDir: ':memory:', clock: new ManualClock() });
  const { cls, run } = seedClass(store);
  const a = store.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'P', text: 'x', seed: null });
  const b = store.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'P', text: 'y', seed: null });
  const poll = store.createPoll({ classId: cls.id, runId: run.id, prompt: 'P', storyAId: a.id, storyBId: b.id, finetunedChoice: 'B', createdBy: 'prof' });
  assert.deepEqual(store.castVote(poll.id, 'u1', 'A'), { previous: null, choice: 'A', tally: { A: 1, B: 0, total: 1 } });
  assert.deepEqual(store.castVote(poll.id, 'u1', 'B'), { previous: 'A', choice: 'B', tally: { A: 0, B: 1, total: 1 } });
  assert.deepEqual(store.castVote(poll.id, 'u2', 'B').tally, { A: 0, B: 2, total: 2 });
  assert.equal(store.getVote(poll.id, 'u1'), 'B');
  assert.equal(store.closePoll(poll.id), true);
  assert.equal(store.closePoll(poll.id), false, 'already closed');
  assert.throws(() => store.castVote(poll.id, 'u3', 'A'), (e) => isQuijoteError(e, 'FORBIDDEN'));
  assert.throws(() => store.castVote(12345, 'u3', 'A'), (e) => isQuijoteError(e, 'NOT_FOUND'));
  assert.deepEqual(store.tally(poll.id), { A: 0, B: 2, total: 2 });
  assert.equal(store.latestOpenPoll(cls.id), undefined);
  store.close();
});

test('runs left queued or running by a crash are marked interrupted once, with their class', () => {
  const dir = tmp();
  const clock = new ManualClock(100);
  const s1 = openStore({ dataDir: dir, clock });
  const { cls, run: queued } = seedClass(s1);
  const other = s1.ensureClass({ platform: 'slack', teamId: 'TS', channelId: 'CS' });
  const running = s1.createRun({ classId: other.id, params: { lines: 50, epochs: 1, lr: 1e-4 }, teacherId: 'p2' });
  s1.markRunRunning(running.id);
  const third = s1.ensureClass({ platform: 'slack', teamId: 'TS', channelId: 'C3' });
  const finished = s1.createRun({ classId: third.id, params: { lines: 10, epochs: 1, lr: 1e-4 }, teacherId: 'p' });
  s1.endRun(finished.id, 'failed', 'boom');
  s1.close(); // the process "crashes" here

  clock.advance(1000);
  const s2 = openStore({ dataDir: dir, clock });
  const found = s2.recoverInterruptedRuns();
  assert.deepEqual(found.map((f) => [f.run.id, f.previousStatus, f.run.status, f.class.platform, f.class.channelId]), [
    [queued.id, 'queued', 'interrupted', 'discord', 'C1'],
    [running.id, 'running', 'interrupted', 'slack', 'CS'],
  ]);
  assert.equal(found[0].run.finishedAt, 1100);
  assert.equal(s2.getRun(finished.id)?.status, 'failed');
  assert.deepEqual(s2.recoverInterruptedRuns(), [], 'nothing left the second time');
  assert.deepEqual(s2.activeRuns(cls.id), []);
  s2.close();
});

test('ensureClass is idempotent per (platform, team, channel); latestDoneRun picks the newest finished run', () => {
  const clock = new ManualClock(0);
  const store = openStore({ dataDir: ':memory:', clock });
  const c1 = store.ensureClass(place);
  assert.equal(store.ensureClass(place).id, c1.id);
  assert.notEqual(store.ensureClass({ ...place, channelId: 'C2' }).id, c1.id);
  const metrics = { method: 'lora' as const, evalLossBefore: 1, evalLossAfter: 1, perplexityBefore: 1, perplexityAfter: 1, optimizerSteps: 1, seconds: 1 };
  const r1 = store.createRun({ classId: c1.id, params: { lines: 1, epochs: 1, lr: 1 }, teacherId: 't' });
  assert.deepEqual(store.activeRuns(c1.id).map((r) => r.id), [r1.id]);
  assert.throws(() => store.createRun({ classId: c1.id, params: { lines: 2, epochs: 1, lr: 1 }, teacherId: 't' }),
    (e) => isQuijoteError(e, 'BUSY'), 'one active run per class (partial unique index)');
  clock.advance(5);
  store.completeRun(r1.id, { metrics, lossCurve: [], modelDir: '/m1' });
  const r2 = store.createRun({ classId: c1.id, params: { lines: 2, epochs: 1, lr: 1 }, teacherId: 't' });
  clock.advance(5);
  store.completeRun(r2.id, { metrics, lossCurve: [], modelDir: '/m2' });
  assert.equal(store.latestDoneRun(c1.id)?.modelDir, '/m2');
  assert.equal(store.createRun({ classId: c1.id, params: { lines: 3, epochs: 1, lr: 1 }, teacherId: 't' }).status, 'queued');
  assert.equal(store.listRuns(c1.id).length, 3);
  store.close();
});

test('model folders live under DATA_DIR/classes/<platform>-<team>-<channel>/run-<id>, with unsafe characters replaced', () => {
  assert.equal(runModelDir('/data', { platform: 'discord', teamId: '123', channelId: '456' }, 7), path.join('/data', 'classes', 'discord-123-456', 'run-7'));
  assert.equal(classDir('/d', { platform: 'slack', teamId: '../T1', channelId: 'C/2' }), path.join('/d', 'classes', 'slack-__T1-C_2'));
});
