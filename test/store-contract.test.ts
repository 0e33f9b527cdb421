/**
 * One store contract, two implementations: every test below runs on SQLite (a temp folder) and on a real
 * PostgreSQL server (test/helpers/servers.ts; a fresh database per test). "Several writers" means two store
 * instances on the same database: two connections on SQLite, two connection pools on PostgreSQL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isQuijoteError } from '../core/errors.ts';
import type { AsyncStore } from '../core/store/async-store.ts';
import { migrate, migrations, type Migration } from '../core/store/migrations.ts';
import { migratePostgres } from '../core/store/pg-migrate.ts';
import { PostgresStore } from '../core/store/postgres.ts';
import { openSqliteAsyncStore } from '../core/store/sqlite-async.ts';
import type { Clock, PollChoice } from '../core/store/types.ts';
import { ManualClock } from './helpers/fake-context.ts';
import { serverTest, startPostgres, type PostgresServer } from './helpers/servers.ts';

/** One empty database of a backend: open stores on it, or prepare it with a partial migration list. */
interface Db {
  open(clock: Clock): Promise<AsyncStore>;
  /** Applies only `list` and runs `sql` (with `?` placeholders) for raw set-up, as an older version would have. */
  legacy(list: Migration[], sql: Array<[string, unknown[]]>): Promise<void>;
}

interface Backend { name: string; options: { skip?: string }; fresh(): Promise<Db> }

const dirs: string[] = [];
let server: PostgresServer | null = null;
after(async () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await server?.stop();
});

const sqlite: Backend = {
  name: 'sqlite',
  options: {},
  async fresh() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quijote-contract-'));
    dirs.push(dir);
    return {
      open: async (clock) => openSqliteAsyncStore({ dataDir: dir, clock }),
      async legacy(list, sql) {
        const db = new Database(path.join(dir, 'quijote.sqlite'));
        migrate(db, 1, list);
        for (const [q, p] of sql) db.prepare(q).run(...p);
        db.close();
      },
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  options: serverTest('postgres'),
  async fresh() {
    server ??= await startPostgres();
    const url = await server.createDatabase();
    return {
      open: (clock) => PostgresStore.open({ url, clock, poolSize: 8 }),
      async legacy(list, sql) {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        await migratePostgres(pool, 1, list);
        for (const [q, p] of sql) {
          let i = 0;
          await pool.query(q.replace(/\?/g, () => `$${++i}`), p);
        }
        await pool.end();
      },
    };
  },
};

const place = { platform: 'discord' as const, teamId: 'G1', channelId: 'C1' };
const params = { lines: 500, epochs: 2, lr: 1e-4, seed: 42 };
const metrics = { method: 'full' as const, evalLossBefore: 4, evalLossAfter: 3, perplexityBefore: 54.6, perplexityAfter: 20.1, optimizerSteps: 8, seconds: 12 };

async function seedPoll(store: AsyncStore) {
  const cls = await store.ensureClass(place);
  const run = await store.createRun({ classId: cls.id, params, teacherId: 'prof' });
  await store.completeRun(run.id, { metrics, lossCurve: [], modelDir: 'file:///m/1' });
  const a = await store.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'P', text: 'tuned', seed: 3 });
  const b = await store.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'P', text: 'base', seed: 3 });
  const poll = await store.createPoll({ classId: cls.id, runId: run.id, prompt: 'P', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'prof' });
  return { cls, run, poll };
}

for (const backend of [sqlite, postgres]) {
  describe(`store contract on ${backend.name}`, backend.options, () => {
    let closeAll: AsyncStore[] = [];
    const opened = async (db: Db, clock: Clock = new ManualClock(1_000)) => {
      const s = await db.open(clock);
      closeAll.push(s);
      return s;
    };
    before(() => { closeAll = []; });
    after(async () => { for (const s of closeAll) await s.close().catch(() => {}); });

    test('migrations run once: the first open applies all, a reopen none', async () => {
      const db = await backend.fresh();
      const s1 = await db.open(new ManualClock());
      assert.equal(s1.kind, backend.name);
      assert.deepEqual(s1.appliedMigrations, migrations.map((m) => m.id));
      await s1.close();
      const s2 = await opened(db);
      assert.deepEqual(s2.appliedMigrations, []);
    });

    test('a database with a migration this version does not know is refused with BAD_CONFIG', async () => {
      const db = await backend.fresh();
      await db.legacy([...migrations, { id: 999, name: 'future', sql: 'CREATE TABLE future (x INTEGER)' }], []);
      await assert.rejects(db.open(new ManualClock()), (e) => isQuijoteError(e, 'BAD_CONFIG') && /999/.test(e.message));
    });

    test('reopening keeps classes, runs, stories, polls and votes, with the same values', async () => {
      const db = await backend.fresh();
      const clock = new ManualClock(1_000);
      const s1 = await db.open(clock);
      const cls = await s1.ensureClass(place);
      const run = await s1.createRun({ classId: cls.id, params, teacherId: 'prof' });
      clock.advance(10);
      await s1.markRunRunning(run.id);
      clock.advance(10);
      const done = await s1.completeRun(run.id, { metrics, lossCurve: [{ step: 1, loss: 4 }, { step: 2, loss: 3.5 }], modelDir: 'file:///models/run-1' });
      const a = await s1.createStory({ classId: cls.id, runId: run.id, model: 'finetuned', prompt: 'P', text: 'tuned ñ «»', seed: 3 });
      const b = await s1.createStory({ classId: cls.id, runId: run.id, model: 'base', prompt: 'P', text: 'base', seed: null });
      const poll = await s1.createPoll({ classId: cls.id, runId: run.id, prompt: 'P', storyAId: a.id, storyBId: b.id, finetunedChoice: 'A', createdBy: 'prof' });
      await s1.setPollMessage(poll.id, 'C1', 'M77');
      await s1.castVote(poll.id, 'u1', 'A');
      await s1.castVote(poll.id, 'u2', 'B');
      await s1.close();

      const s2 = await opened(db, clock);
      assert.deepEqual(await s2.findClass(place), cls);
      assert.deepEqual(await s2.getClass(cls.id), cls);
      const again = await s2.latestDoneRun(cls.id);
      assert.deepEqual(again, done);
      assert.deepEqual(again?.params, params);
      assert.deepEqual(again?.metrics, metrics);
      assert.deepEqual([again?.createdAt, again?.startedAt, again?.finishedAt], [1000, 1010, 1020]);
      assert.deepEqual(await s2.getStory(a.id), a);
      assert.equal((await s2.getStory(a.id))?.text, 'tuned ñ «»');
      assert.equal((await s2.getStory(b.id))?.seed, null);
      const p = await s2.getPoll(poll.id);
      assert.equal(p?.messageId, 'M77');
      assert.equal(p?.channelId, 'C1');
      assert.deepEqual(await s2.tally(poll.id), { A: 1, B: 1, total: 2 });
      assert.equal((await s2.latestOpenPoll(cls.id))?.id, poll.id);
      assert.deepEqual((await s2.listPolls(cls.id)).map((x) => x.id), [poll.id]);
      assert.deepEqual(await s2.recoverInterruptedRuns(), []);
    });

    test('one vote per user and poll: voting again changes it; closed polls refuse votes', async () => {
      const store = await opened(await backend.fresh());
      const { cls, poll } = await seedPoll(store);
      assert.deepEqual(await store.castVote(poll.id, 'u1', 'A'), { previous: null, choice: 'A', tally: { A: 1, B: 0, total: 1 } });
      assert.deepEqual(await store.castVote(poll.id, 'u1', 'B'), { previous: 'A', choice: 'B', tally: { A: 0, B: 1, total: 1 } });
      assert.deepEqual((await store.castVote(poll.id, 'u2', 'B')).tally, { A: 0, B: 2, total: 2 });
      assert.equal(await store.getVote(poll.id, 'u1'), 'B');
      assert.equal(await store.getVote(poll.id, 'nobody'), null);
      assert.equal(await store.closePoll(poll.id), true);
      assert.equal(await store.closePoll(poll.id), false, 'already closed');
      await assert.rejects(store.castVote(poll.id, 'u3', 'A'), (e) => isQuijoteError(e, 'FORBIDDEN'));
      await assert.rejects(store.castVote(12345, 'u3', 'A'), (e) => isQuijoteError(e, 'NOT_FOUND'));
      assert.deepEqual(await store.tally(poll.id), { A: 0, B: 2, total: 2 });
      assert.equal(await store.latestOpenPoll(cls.id), undefined);
      assert.equal((await store.getPoll(poll.id))?.status, 'closed');
    });

    test('only a posted poll is listed; an unposted one can be discarded with its stories; votes in order', async () => {
      const clock = new ManualClock(1_000);
      const store = await opened(await backend.fresh(), clock);
      const { cls, poll } = await seedPoll(store);
      assert.equal(await store.latestOpenPoll(cls.id), undefined, 'not posted yet');
      assert.deepEqual(await store.listPolls(cls.id), []);
      assert.equal(await store.discardUnpostedPoll(poll.id), true);
      assert.equal(await store.getPoll(poll.id), undefined);
      assert.equal(await store.getStory(poll.storyAId), undefined);
      assert.equal(await store.getStory(poll.storyBId), undefined);
      const { poll: posted } = await seedPoll(store);
      await store.setPollMessage(posted.id, 'C1', 'M1');
      assert.equal(await store.discardUnpostedPoll(posted.id), false, 'a posted poll stays');
      assert.equal((await store.latestOpenPoll(cls.id))?.id, posted.id);
      await store.castVote(posted.id, 'u2', 'B');
      clock.advance(5);
      await store.castVote(posted.id, 'u1', 'A');
      assert.deepEqual(await store.pollVotes(posted.id), [{ userId: 'u2', choice: 'B', votedAt: 1000 }, { userId: 'u1', choice: 'A', votedAt: 1005 }]);
    });

    test('a delivery is claimed by one front-end at a time; a lapsed lease is taken over; delivered is final', async () => {
      const db = await backend.fresh();
      const clock = new ManualClock(1_000);
      const [fe1, fe2] = [await opened(db, clock), await opened(db, clock)];
      const cls = await fe1.ensureClass(place);
      const run = await fe1.createRun({ classId: cls.id, params, teacherId: 'prof' });
      assert.equal(await fe1.claimDelivery(run.id, 'fe1', 1000), undefined, 'no delivery before its job is recorded');
      await fe1.createDelivery({ runId: run.id, jobId: 'job-1', progressMessageId: 'M1' });
      const claims = await Promise.all([fe1.claimDelivery(run.id, 'fe1', 1000), fe2.claimDelivery(run.id, 'fe2', 1000)]);
      assert.equal(claims.filter(Boolean).length, 1, 'two claims at once: one wins');
      const [winner, loser] = claims[0] ? ['fe1', 'fe2'] : ['fe2', 'fe1'];
      const w = winner === 'fe1' ? fe1 : fe2;
      const l = winner === 'fe1' ? fe2 : fe1;
      assert.equal((await w.claimDelivery(run.id, winner, 1000))?.claimedBy, winner, 'the holder may claim again');
      assert.equal(await l.recordDelivery(run.id, loser, { resultsMessageId: 'R9' }), false, 'only the holder records');
      assert.equal(await w.recordDelivery(run.id, winner, { resultsMessageId: 'R1' }), true);
      clock.advance(900);
      assert.equal(await w.renewDelivery(run.id, winner, 1000), true);
      clock.advance(900);
      assert.equal(await l.claimDelivery(run.id, loser, 1000), undefined, 'the renewed lease still holds');
      clock.advance(200);
      const taken = await l.claimDelivery(run.id, loser, 1000);
      assert.deepEqual(taken, { runId: run.id, jobId: 'job-1', progressMessageId: 'M1', resultsMessageId: 'R1', pollId: null, claimedBy: loser, leaseUntil: 4000, deliveredAt: null });
      assert.equal(await w.renewDelivery(run.id, winner, 1000), false, 'the old holder learns it lost the claim');
      assert.equal(await w.finishDelivery(run.id, winner), false);
      assert.deepEqual((await l.pendingDeliveries()).map((d) => d.runId), [run.id]);
      assert.equal(await l.finishDelivery(run.id, loser), true);
      assert.deepEqual(await l.pendingDeliveries(), []);
      assert.equal((await w.getDelivery(run.id))?.deliveredAt, 3000);
      assert.equal(await w.claimDelivery(run.id, winner, 1000), undefined, 'delivered is final');
      clock.advance(10_000);
      assert.equal(await l.claimDelivery(run.id, loser, 1000), undefined);
    });

    test('the poll lock serializes work on one poll across store instances, not across polls', async () => {
      const db = await backend.fresh();
      const [s1, s2] = [await opened(db), await opened(db)];
      const log: string[] = [];
      const hold = (s: AsyncStore, pollId: number, name: string, ms: number) => s.withPollLock(pollId, async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
        return name;
      });
      assert.deepEqual(await Promise.all([hold(s1, 1, 'a', 60), hold(s2, 1, 'b', 10)]), ['a', 'b']);
      assert.ok(log.join(' ') === 'a+ a- b+ b-' || log.join(' ') === 'b+ b- a+ a-', log.join(' '));
      log.length = 0;
      await Promise.all([hold(s1, 2, 'c', 60), hold(s2, 3, 'd', 10)]);
      if (backend.name === 'postgres') assert.deepEqual(log.slice(0, 2).sort(), ['c+', 'd+'], `two polls do not wait for each other: ${log.join(' ')}`);
      await assert.rejects(s1.withPollLock(1, async () => { throw new Error('boom'); }), /boom/);
      assert.equal(await s2.withPollLock(1, async () => 'free again'), 'free again');
    });

    test('runs left queued or running are marked interrupted once, with their class and previous status', async () => {
      const db = await backend.fresh();
      const clock = new ManualClock(100);
      const s1 = await db.open(clock);
      const cls = await s1.ensureClass(place);
      const queued = await s1.createRun({ classId: cls.id, params, teacherId: 'p' });
      const other = await s1.ensureClass({ platform: 'slack', teamId: 'TS', channelId: 'CS' });
      const running = await s1.createRun({ classId: other.id, params, teacherId: 'p2' });
      await s1.markRunRunning(running.id);
      const third = await s1.ensureClass({ platform: 'slack', teamId: 'TS', channelId: 'C3' });
      const failed = await s1.createRun({ classId: third.id, params, teacherId: 'p' });
      await s1.endRun(failed.id, 'failed', 'boom');
      assert.deepEqual((await s1.unfinishedRuns()).map((r) => [r.id, r.status]), [[queued.id, 'queued'], [running.id, 'running']]);
      await s1.close();

      clock.advance(1000);
      const s2 = await opened(db, clock);
      const found = await s2.recoverInterruptedRuns();
      assert.deepEqual(found.map((f) => [f.run.id, f.previousStatus, f.run.status, f.class.platform, f.class.channelId]), [
        [queued.id, 'queued', 'interrupted', 'discord', 'C1'],
        [running.id, 'running', 'interrupted', 'slack', 'CS'],
      ]);
      assert.equal(found[0].run.finishedAt, 1100);
      assert.match(found[1].run.error ?? '', /running/);
      assert.equal((await s2.getRun(failed.id))?.error, 'boom');
      assert.deepEqual(await s2.recoverInterruptedRuns(), [], 'nothing left the second time');
      assert.deepEqual(await s2.activeRuns(cls.id), []);
    });

    test('ensureClass is idempotent per place; latestDoneRun is the newest finished run', async () => {
      const clock = new ManualClock(0);
      const store = await opened(await backend.fresh(), clock);
      const c1 = await store.ensureClass(place);
      assert.equal((await store.ensureClass(place)).id, c1.id);
      assert.notEqual((await store.ensureClass({ ...place, channelId: 'C2' })).id, c1.id);
      assert.equal(await store.findClass({ ...place, channelId: 'nope' }), undefined);
      const r1 = await store.createRun({ classId: c1.id, params, teacherId: 't' });
      clock.advance(5);
      await store.completeRun(r1.id, { metrics, lossCurve: [], modelDir: '/m1' });
      const r2 = await store.createRun({ classId: c1.id, params, teacherId: 't' });
      assert.deepEqual((await store.activeRuns(c1.id)).map((r) => r.id), [r2.id]);
      clock.advance(5);
      await store.completeRun(r2.id, { metrics, lossCurve: [], modelDir: '/m2' });
      assert.equal((await store.latestDoneRun(c1.id))?.modelDir, '/m2');
      const r3 = await store.createRun({ classId: c1.id, params, teacherId: 't' });
      await store.endRun(r3.id, 'cancelled');
      assert.equal((await store.latestDoneRun(c1.id))?.id, r2.id, 'a cancelled run is not the class model');
      assert.deepEqual((await store.listRuns(c1.id)).map((r) => r.status), ['done', 'done', 'cancelled']);
    });

    test('one active run per class is a database invariant, also under concurrent writers', async () => {
      const db = await backend.fresh();
      const s1 = await opened(db);
      const s2 = await opened(db);
      const cls = await s1.ensureClass(place);
      const other = await s1.ensureClass({ ...place, channelId: 'C2' });
      const attempts = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => (i % 2 ? s1 : s2).createRun({ classId: cls.id, params, teacherId: `t${i}` })));
      const won = attempts.filter((a) => a.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one run created');
      for (const a of attempts) if (a.status === 'rejected') assert.ok(isQuijoteError(a.reason, 'BUSY'), String(a.reason));
      assert.equal((await s2.activeRuns(cls.id)).length, 1);
      const run = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<AsyncStore['createRun']>>>).value;
      assert.equal((await s1.createRun({ classId: other.id, params, teacherId: 't' })).status, 'queued', 'other classes are not blocked');
      await s1.markRunRunning(run.id);
      await assert.rejects(s2.createRun({ classId: cls.id, params, teacherId: 't' }), (e) => isQuijoteError(e, 'BUSY'));
      await s2.endRun(run.id, 'failed', 'x');
      assert.equal((await s1.createRun({ classId: cls.id, params, teacherId: 't' })).status, 'queued', 'free again once it ended');
    });

    test('migration 2 keeps the newest active run of each class and interrupts older ones', async () => {
      const db = await backend.fresh();
      await db.legacy([migrations[0]], [
        ["INSERT INTO classes (id, platform, team_id, channel_id, created_at) VALUES (1, 'discord', 'G1', 'C1', 0)", []],
        ...[1, 2, 3].map((id): [string, unknown[]] => ["INSERT INTO runs (id, class_id, params, status, teacher_id, created_at) VALUES (?, 1, '{}', ?, 't', 0)", [id, id === 2 ? 'running' : 'queued']]),
      ]);
      const store = await opened(db);
      assert.deepEqual(store.appliedMigrations, migrations.slice(1).map((m) => m.id));
      assert.deepEqual((await store.listRuns(1)).map((r) => [r.id, r.status]), [[1, 'interrupted'], [2, 'interrupted'], [3, 'queued']]);
      assert.ok(((await store.getRun(1))?.finishedAt ?? 0) > 0);
    });

    test('votes stay exact under two writers: 100 users × 3 clicks, double clicks, then the close refuses the rest', async () => {
      const db = await backend.fresh();
      const s1 = await opened(db);
      const s2 = await opened(db);
      const { poll } = await seedPoll(s1);
      const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
      const plan = (u: number, k: number): PollChoice => ((u * 7 + k * 3) % 2 === 0 ? 'A' : 'B');
      const last = new Map<string, PollChoice>();
      const clicks = async (u: number, rounds: number) => {
        for (let k = 0; k < rounds; k++) {
          const choice = plan(u, k);
          // a double click: the same choice through both writers at once
          const both = await Promise.all([s1.castVote(poll.id, users[u], choice), s2.castVote(poll.id, users[u], choice)]);
          for (const o of both) assert.ok(o.tally.total <= users.length && o.tally.A + o.tally.B === o.tally.total);
          last.set(users[u], choice);
        }
      };
      await Promise.all(users.map((_, u) => clicks(u, 3)));
      const expected = { A: 0, B: 0, total: 0 };
      for (const c of last.values()) { expected[c]++; expected.total++; }
      assert.deepEqual(await s1.tally(poll.id), expected);
      assert.deepEqual(await s2.tally(poll.id), expected);
      for (const u of users) assert.equal(await s2.getVote(poll.id, u), last.get(u));

      // Votes racing the close: every vote either lands before the close or is refused; none lands after it.
      const late = users.map((u, i) => (i % 2 ? s1 : s2).castVote(poll.id, u, plan(i, 9)).then(() => 'ok', (e) => (isQuijoteError(e, 'FORBIDDEN') ? 'refused' : e)));
      assert.equal(await s1.closePoll(poll.id), true);
      const atClose = await s2.tally(poll.id);
      const outcomes = await Promise.all(late);
      for (const o of outcomes) assert.ok(o === 'ok' || o === 'refused', String(o));
      assert.deepEqual(await s1.tally(poll.id), atClose, 'nothing counted after the close');
      await assert.rejects(s2.castVote(poll.id, 'u0', 'A'), (e) => isQuijoteError(e, 'FORBIDDEN'));
      await assert.rejects(s1.castVote(poll.id, 'u1', 'B'), (e) => isQuijoteError(e, 'FORBIDDEN'));
    });
  });
}

describe('PostgreSQL migrations under concurrent start-up', serverTest('postgres'), () => {
  test('six processes opening a fresh database at once: each migration is applied exactly once', async () => {
    server ??= await startPostgres();
    const url = await server.createDatabase();
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open({ url, clock: new ManualClock(), poolSize: 2 })));
    try {
      assert.deepEqual(stores.flatMap((s) => s.appliedMigrations).sort((a, b) => a - b), migrations.map((m) => m.id));
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const rows = (await check.query('SELECT id FROM migrations ORDER BY id')).rows.map((r) => Number(r.id));
      await check.end();
      assert.deepEqual(rows, migrations.map((m) => m.id));
    } finally {
      for (const s of stores) await s.close();
    }
  });

  test('an unreachable server is BAD_CONFIG naming host, port and database, never the password', async () => {
    const { freePort } = await import('./helpers/servers.ts');
    const port = await freePort();
    await assert.rejects(PostgresStore.open({ url: `postgres://u:s3cret@127.0.0.1:${port}/district`, clock: new ManualClock() }),
      (e) => isQuijoteError(e, 'BAD_CONFIG') && e.message.includes(`127.0.0.1:${port}/district`) && !e.message.includes('s3cret'));
  });
});
