/**
 * The store on PostgreSQL (`DATABASE_URL=postgres://…`), shared by every front-end and worker of a district. Same
 * contract as the SQLite store (async-store.ts); the invariants live in the database:
 * - one active run per class: the partial unique index `runs_one_active` (migration 2), not a read-then-insert;
 * - votes: each vote first locks its poll row with `UPDATE … RETURNING`, so the votes of one poll and its closing
 *   are serialized: the tally a vote returns is exact, and no vote that saw the poll open commits after it closed.
 *   (A literal port of the SQLite transaction, read the poll and then upsert, deadlocked under two writers when
 *   the issue was prototyped, and lets a vote land after the close.)
 */
import pg from 'pg';
import { QuijoteError } from '../errors.ts';
import type { AsyncStore } from './async-store.ts';
import { ONE_ACTIVE_RUN_INDEX } from './migrations.ts';
import { migratePostgres } from './pg-migrate.ts';
import { activeRunBusy, toClass, toDelivery, toPoll, toRun, toStory, toSweep, type NewSweep } from './store.ts';
import { pickClassModel } from './class-model.ts';
import type {
  ClassRow, Clock, InterruptedRun, LossPoint, PollChoice, PollRow, PollVote, RunDelivery, RunMetrics, RunParams, RunRow,
  StoryModel, StoryRow, SweepRow, SweepStatus, Tally, VoteOutcome,
} from './types.ts';
import type { Place } from '../place.ts';

export interface OpenPostgresOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  clock: Clock;
  /** Connections in this process's pool (default 10). */
  poolSize?: number;
  /** Errors of idle pooled connections (a server restart); the pool replaces them. */
  onIdleError?: (e: Error) => void;
}

/** host:port/database of a URL, never its password (for messages). */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

type Q = Pick<pg.PoolClient, 'query'>;

/** The first key of the per-poll advisory locks (the second is the poll id); apart from the migration lock's. */
const POLL_LOCK_SPACE = 0x706f6c6c; // "poll"

export class PostgresStore implements AsyncStore {
  readonly kind = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool, private readonly clock: Clock, readonly appliedMigrations: number[]) {}

  static async open(options: OpenPostgresOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    pool.on('error', (e) => options.onIdleError?.(e));
    try {
      const applied = await migratePostgres(pool, options.clock.now());
      return new PostgresStore(pool, options.clock, applied);
    } catch (cause) {
      await pool.end().catch(() => {});
      if (cause instanceof QuijoteError) throw cause;
      throw new QuijoteError('BAD_CONFIG', `Cannot open the PostgreSQL store at ${describePostgresUrl(options.url)}: ${(cause as Error).message}.`, {
        cause, hint: 'Check DATABASE_URL (user, password, host, port, database) and that the server is running.',
      });
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async one(sql: string, params: unknown[], q: Q = this.pool): Promise<Record<string, unknown> | undefined> {
    return (await q.query(sql, params)).rows[0];
  }

  private async all(sql: string, params: unknown[], q: Q = this.pool): Promise<Record<string, unknown>[]> {
    return (await q.query(sql, params)).rows;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  // ── classes ────────────────────────────────────────────────────────────────

  async findClass(place: Place): Promise<ClassRow | undefined> {
    const r = await this.one('SELECT * FROM classes WHERE platform = $1 AND team_id = $2 AND channel_id = $3', [place.platform, place.teamId, place.channelId]);
    return r ? toClass(r) : undefined;
  }

  async ensureClass(place: Place): Promise<ClassRow> {
    await this.pool.query('INSERT INTO classes (platform, team_id, channel_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (platform, team_id, channel_id) DO NOTHING',
      [place.platform, place.teamId, place.channelId, this.clock.now()]);
    return (await this.findClass(place)) as ClassRow;
  }

  async getClass(id: number): Promise<ClassRow | undefined> {
    const r = await this.one('SELECT * FROM classes WHERE id = $1', [id]);
    return r ? toClass(r) : undefined;
  }

  // ── training runs ─────────────────────────────────────────────────────────

  async createRun(input: { classId: number; params: RunParams; teacherId: string; sweepId?: number }): Promise<RunRow> {
    try {
      const r = await this.one("INSERT INTO runs (class_id, params, status, teacher_id, created_at, sweep_id) VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING *",
        [input.classId, JSON.stringify(input.params), input.teacherId, this.clock.now(), input.sweepId ?? null]);
      return toRun(r!);
    } catch (e) {
      const pe = e as { code?: string; constraint?: string };
      if (pe.code === '23505' && pe.constraint === ONE_ACTIVE_RUN_INDEX) throw activeRunBusy(input.classId, e);
      throw e;
    }
  }

  async getRun(id: number): Promise<RunRow | undefined> {
    const r = await this.one('SELECT * FROM runs WHERE id = $1', [id]);
    return r ? toRun(r) : undefined;
  }

  async markRunRunning(id: number): Promise<void> {
    await this.pool.query("UPDATE runs SET status = 'running', started_at = $1 WHERE id = $2", [this.clock.now(), id]);
  }

  async completeRun(id: number, result: { metrics: RunMetrics; lossCurve: LossPoint[]; modelDir: string }): Promise<RunRow> {
    const r = await this.one("UPDATE runs SET status = 'done', metrics = $1, loss_curve = $2, model_dir = $3, finished_at = $4 WHERE id = $5 RETURNING *",
      [JSON.stringify(result.metrics), JSON.stringify(result.lossCurve), result.modelDir, this.clock.now(), id]);
    if (!r) throw new QuijoteError('NOT_FOUND', `Run ${id} does not exist.`);
    return toRun(r);
  }

  async endRun(id: number, status: 'failed' | 'cancelled' | 'interrupted', error?: string): Promise<void> {
    await this.pool.query('UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4', [status, error ?? null, this.clock.now(), id]);
  }

  async latestDoneRun(classId: number): Promise<RunRow | undefined> {
    const r = await this.one("SELECT * FROM runs WHERE class_id = $1 AND status = 'done' ORDER BY finished_at DESC, id DESC LIMIT 1", [classId]);
    return r ? toRun(r) : undefined;
  }

  async activeRuns(classId: number): Promise<RunRow[]> {
    return (await this.all("SELECT * FROM runs WHERE class_id = $1 AND status IN ('queued','running') ORDER BY id", [classId])).map(toRun);
  }

  async classModelRun(classId: number): Promise<RunRow | undefined> {
    const c = await this.one('SELECT model_run_id, model_chosen_at FROM classes WHERE id = $1', [classId]);
    const chosen = c && c.model_run_id !== null ? await this.getRun(Number(c.model_run_id)) : undefined;
    const r = await this.one("SELECT * FROM runs WHERE class_id = $1 AND status = 'done' AND sweep_id IS NULL ORDER BY finished_at DESC, id DESC LIMIT 1", [classId]);
    return pickClassModel(chosen ? { run: chosen, at: Number(c!.model_chosen_at) } : undefined, r ? toRun(r) : undefined);
  }

  async chooseClassModel(classId: number, runId: number): Promise<void> {
    await this.pool.query('UPDATE classes SET model_run_id = $1, model_chosen_at = $2 WHERE id = $3', [runId, this.clock.now(), classId]);
  }

  async createSweep(input: NewSweep): Promise<SweepRow> {
    const r = await this.one("INSERT INTO sweeps (class_id, axis, sweep_values, params, prompt, status, teacher_id, created_at) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7) RETURNING *",
      [input.classId, input.axis, JSON.stringify(input.values), JSON.stringify(input.params), input.prompt, input.teacherId, this.clock.now()]);
    return toSweep(r!);
  }

  async getSweep(id: number): Promise<SweepRow | undefined> {
    const r = await this.one('SELECT * FROM sweeps WHERE id = $1', [id]);
    return r ? toSweep(r) : undefined;
  }

  async endSweep(id: number, status: Exclude<SweepStatus, 'running'>, error?: string): Promise<SweepRow> {
    const r = await this.one('UPDATE sweeps SET status = $1, error = $2, finished_at = $3 WHERE id = $4 RETURNING *', [status, error ?? null, this.clock.now(), id]);
    if (!r) throw new QuijoteError('NOT_FOUND', `Sweep ${id} does not exist.`);
    return toSweep(r);
  }

  async sweepRuns(sweepId: number): Promise<RunRow[]> {
    return (await this.all('SELECT * FROM runs WHERE sweep_id = $1 ORDER BY id', [sweepId])).map(toRun);
  }

  async listRuns(classId: number): Promise<RunRow[]> {
    return (await this.all('SELECT * FROM runs WHERE class_id = $1 ORDER BY id', [classId])).map(toRun);
  }

  async unfinishedRuns(): Promise<RunRow[]> {
    return (await this.all("SELECT * FROM runs WHERE status IN ('queued','running') ORDER BY id", [])).map(toRun);
  }

  async recoverInterruptedRuns(): Promise<InterruptedRun[]> {
    return this.tx(async (c) => {
      const rows = await this.all(`
        WITH old AS (SELECT id, status FROM runs WHERE status IN ('queued','running') FOR UPDATE)
        UPDATE runs r SET status = 'interrupted', finished_at = $1, error = 'interrupted by a restart while ' || old.status
        FROM old WHERE r.id = old.id
        RETURNING r.*, old.status AS previous_status`, [this.clock.now()], c);
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      const out: InterruptedRun[] = [];
      for (const r of rows) {
        const cls = await this.one('SELECT * FROM classes WHERE id = $1', [r.class_id], c);
        out.push({ run: toRun(r), class: toClass(cls!), previousStatus: String(r.previous_status) as InterruptedRun['previousStatus'] });
      }
      await c.query("UPDATE sweeps SET status = 'interrupted', error = 'interrupted by a restart', finished_at = $1 WHERE status = 'running'", [this.clock.now()]);
      return out;
    });
  }

  // ── result deliveries ─────────────────────────────────────────────────────

  async createDelivery(input: { runId: number; jobId: string; progressMessageId: string | null }): Promise<void> {
    await this.pool.query('INSERT INTO deliveries (run_id, job_id, progress_message_id) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO UPDATE SET job_id = excluded.job_id, progress_message_id = excluded.progress_message_id',
      [input.runId, input.jobId, input.progressMessageId]);
  }

  async getDelivery(runId: number): Promise<RunDelivery | undefined> {
    const r = await this.one('SELECT * FROM deliveries WHERE run_id = $1', [runId]);
    return r ? toDelivery(r) : undefined;
  }

  async claimDelivery(runId: number, by: string, leaseMs: number): Promise<RunDelivery | undefined> {
    // One UPDATE: the row lock makes two front-ends' claims of the same delivery take turns, and the second one
    // re-checks the WHERE against the first one's committed claim (READ COMMITTED), so only one of them wins.
    const now = this.clock.now();
    const r = await this.one(`UPDATE deliveries SET claimed_by = $1, lease_until = $2
      WHERE run_id = $3 AND delivered_at IS NULL AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until < $4) RETURNING *`,
    [by, now + leaseMs, runId, now]);
    return r ? toDelivery(r) : undefined;
  }

  async renewDelivery(runId: number, by: string, leaseMs: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE deliveries SET lease_until = $1 WHERE run_id = $2 AND claimed_by = $3 AND delivered_at IS NULL',
      [this.clock.now() + leaseMs, runId, by]);
    return (r.rowCount ?? 0) > 0;
  }

  async recordDelivery(runId: number, by: string, step: { resultsMessageId?: string; pollId?: number }): Promise<boolean> {
    const r = await this.pool.query(`UPDATE deliveries SET results_message_id = COALESCE($1, results_message_id), poll_id = COALESCE($2, poll_id)
      WHERE run_id = $3 AND claimed_by = $4 AND delivered_at IS NULL`, [step.resultsMessageId ?? null, step.pollId ?? null, runId, by]);
    return (r.rowCount ?? 0) > 0;
  }

  async finishDelivery(runId: number, by: string): Promise<boolean> {
    const r = await this.pool.query('UPDATE deliveries SET delivered_at = $1, lease_until = NULL WHERE run_id = $2 AND claimed_by = $3 AND delivered_at IS NULL',
      [this.clock.now(), runId, by]);
    return (r.rowCount ?? 0) > 0;
  }

  async pendingDeliveries(): Promise<RunDelivery[]> {
    return (await this.all('SELECT * FROM deliveries WHERE delivered_at IS NULL ORDER BY run_id', [])).map(toDelivery);
  }

  async withPollLock<T>(pollId: number, fn: () => Promise<T>): Promise<T> {
    // A session-level advisory lock on its own connection: a front-end that dies drops the connection, and the
    // server releases the lock with it.
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1, $2)', [POLL_LOCK_SPACE, pollId]);
      try {
        return await fn();
      } finally {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [POLL_LOCK_SPACE, pollId]).catch(() => {});
      }
    } finally {
      c.release();
    }
  }

  // ── stories ───────────────────────────────────────────────────────────────

  async createStory(input: { classId: number; runId: number | null; model: StoryModel; prompt: string; text: string; seed: number | null }): Promise<StoryRow> {
    const r = await this.one('INSERT INTO stories (class_id, run_id, model, prompt, text, seed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
      [input.classId, input.runId, input.model, input.prompt, input.text, input.seed, this.clock.now()]);
    return toStory(r!);
  }

  async getStory(id: number): Promise<StoryRow | undefined> {
    const r = await this.one('SELECT * FROM stories WHERE id = $1', [id]);
    return r ? toStory(r) : undefined;
  }

  // ── polls and votes ───────────────────────────────────────────────────────

  async createPoll(input: { classId: number; runId: number; prompt: string; storyAId: number; storyBId: number; finetunedChoice: PollChoice; createdBy: string }): Promise<PollRow> {
    const r = await this.one(
      "INSERT INTO polls (class_id, run_id, prompt, story_a_id, story_b_id, finetuned_choice, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) RETURNING *",
      [input.classId, input.runId, input.prompt, input.storyAId, input.storyBId, input.finetunedChoice, input.createdBy, this.clock.now()]);
    return toPoll(r!);
  }

  async getPoll(id: number): Promise<PollRow | undefined> {
    const r = await this.one('SELECT * FROM polls WHERE id = $1', [id]);
    return r ? toPoll(r) : undefined;
  }

  async setPollMessage(pollId: number, channelId: string, messageId: string): Promise<void> {
    await this.pool.query('UPDATE polls SET channel_id = $1, message_id = $2 WHERE id = $3', [channelId, messageId, pollId]);
  }

  async discardUnpostedPoll(pollId: number): Promise<boolean> {
    return this.tx(async (c) => {
      // the row lock orders this with votes (castVote locks the poll row first too)
      const poll = await this.one('SELECT * FROM polls WHERE id = $1 FOR UPDATE', [pollId], c);
      if (!poll || poll.message_id !== null) return false;
      const votes = await this.one('SELECT COUNT(*) AS n FROM votes WHERE poll_id = $1', [pollId], c);
      if (Number(votes!.n) !== 0) return false;
      await c.query('DELETE FROM polls WHERE id = $1', [pollId]);
      await c.query('DELETE FROM stories WHERE id IN ($1, $2)', [poll.story_a_id, poll.story_b_id]);
      return true;
    });
  }

  async latestOpenPoll(classId: number): Promise<PollRow | undefined> {
    const r = await this.one("SELECT * FROM polls WHERE class_id = $1 AND status = 'open' AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1", [classId]);
    return r ? toPoll(r) : undefined;
  }

  async listPolls(classId: number): Promise<PollRow[]> {
    return (await this.all('SELECT * FROM polls WHERE class_id = $1 AND message_id IS NOT NULL ORDER BY id', [classId])).map(toPoll);
  }

  async closePoll(pollId: number): Promise<boolean> {
    const r = await this.pool.query("UPDATE polls SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'", [this.clock.now(), pollId]);
    return (r.rowCount ?? 0) > 0;
  }

  async castVote(pollId: number, userId: string, choice: PollChoice): Promise<VoteOutcome> {
    return this.tx(async (c) => {
      // The poll row's lock comes first: every vote of this poll, and its closing, queue here.
      const poll = await this.one('UPDATE polls SET status = status WHERE id = $1 RETURNING status', [pollId], c);
      if (!poll) throw new QuijoteError('NOT_FOUND', `Poll ${pollId} does not exist.`);
      if (poll.status !== 'open') throw new QuijoteError('FORBIDDEN', `Poll ${pollId} is closed; votes are no longer accepted.`);
      const prev = await this.one('SELECT choice FROM votes WHERE poll_id = $1 AND user_id = $2', [pollId, userId], c);
      await c.query('INSERT INTO votes (poll_id, user_id, choice, voted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (poll_id, user_id) DO UPDATE SET choice = excluded.choice, voted_at = excluded.voted_at',
        [pollId, userId, choice, this.clock.now()]);
      return { previous: prev ? (String(prev.choice) as PollChoice) : null, choice, tally: await this.tallyWith(pollId, c) };
    });
  }

  async getVote(pollId: number, userId: string): Promise<PollChoice | null> {
    const r = await this.one('SELECT choice FROM votes WHERE poll_id = $1 AND user_id = $2', [pollId, userId]);
    return r ? (String(r.choice) as PollChoice) : null;
  }

  async pollVotes(pollId: number): Promise<PollVote[]> {
    return (await this.all('SELECT user_id, choice, voted_at FROM votes WHERE poll_id = $1 ORDER BY voted_at, user_id', [pollId]))
      .map((r) => ({ userId: String(r.user_id), choice: String(r.choice) as PollChoice, votedAt: Number(r.voted_at) }));
  }

  async tally(pollId: number): Promise<Tally> {
    return this.tallyWith(pollId, this.pool);
  }

  private async tallyWith(pollId: number, q: Q): Promise<Tally> {
    const rows = await this.all('SELECT choice, COUNT(*) AS n FROM votes WHERE poll_id = $1 GROUP BY choice', [pollId], q);
    const t: Tally = { A: 0, B: 0, total: 0 };
    for (const r of rows) {
      const n = Number(r.n);
      if (r.choice === 'A') t.A = n;
      else if (r.choice === 'B') t.B = n;
      t.total += n;
    }
    return t;
  }
}
