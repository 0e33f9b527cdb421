/**
 * The bot's persistent state in SQLite (better-sqlite3, WAL): classes, training runs, stories, blind polls
 * and votes. Survives restarts; runs left 'queued' or 'running' by a crash become 'interrupted'.
 * This synchronous class is what commands/ use today; core/store/async-store.ts is the async contract that it
 * (through sqlite-async.ts) and PostgreSQL (postgres.ts) both implement.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Place, Platform } from '../place.ts';
import { QuijoteError } from '../errors.ts';
import { migrate } from './migrations.ts';
import { STORE_FILE } from './paths.ts';
import type {
  ClassRow, Clock, InterruptedRun, LossPoint, PollChoice, PollRow, PollVote, RunDelivery, RunMetrics, RunParams, RunRow,
  RunStatus, StoryModel, StoryRow, SweepAxis, SweepRow, SweepStatus, Tally, VoteOutcome,
} from './types.ts';
import { pickClassModel } from './class-model.ts';

type Row = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));

export function toClass(r: Row): ClassRow {
  return { id: num(r.id), platform: String(r.platform) as Platform, teamId: String(r.team_id), channelId: String(r.channel_id), createdAt: num(r.created_at) };
}

export function toRun(r: Row): RunRow {
  return {
    id: num(r.id),
    classId: num(r.class_id),
    params: json<RunParams>(r.params) as RunParams,
    status: String(r.status) as RunStatus,
    metrics: json<RunMetrics>(r.metrics),
    lossCurve: json<LossPoint[]>(r.loss_curve),
    modelDir: strOrNull(r.model_dir),
    teacherId: String(r.teacher_id),
    error: strOrNull(r.error),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    sweepId: numOrNull(r.sweep_id),
  };
}

export function toSweep(r: Row): SweepRow {
  return {
    id: num(r.id), classId: num(r.class_id), axis: String(r.axis) as SweepAxis, values: json<number[]>(r.sweep_values) ?? [],
    params: json<RunParams>(r.params) as RunParams, prompt: String(r.prompt), status: String(r.status) as SweepStatus,
    teacherId: String(r.teacher_id), error: strOrNull(r.error), createdAt: num(r.created_at), finishedAt: numOrNull(r.finished_at),
  };
}

/** The input of createSweep, shared by both stores. */
export interface NewSweep { classId: number; axis: SweepAxis; values: number[]; params: RunParams; prompt: string; teacherId: string }

export function toStory(r: Row): StoryRow {
  return {
    id: num(r.id), classId: num(r.class_id), runId: numOrNull(r.run_id), model: String(r.model) as StoryModel,
    prompt: String(r.prompt), text: String(r.text), seed: numOrNull(r.seed), createdAt: num(r.created_at),
  };
}

export function toDelivery(r: Row): RunDelivery {
  return {
    runId: num(r.run_id), jobId: String(r.job_id), progressMessageId: strOrNull(r.progress_message_id),
    resultsMessageId: strOrNull(r.results_message_id), pollId: numOrNull(r.poll_id), claimedBy: strOrNull(r.claimed_by),
    leaseUntil: numOrNull(r.lease_until), deliveredAt: numOrNull(r.delivered_at),
  };
}

export function toPoll(r: Row): PollRow {
  return {
    id: num(r.id), classId: num(r.class_id), runId: num(r.run_id), prompt: String(r.prompt),
    storyAId: num(r.story_a_id), storyBId: num(r.story_b_id), finetunedChoice: String(r.finetuned_choice) as PollChoice,
    channelId: strOrNull(r.channel_id), messageId: strOrNull(r.message_id), status: String(r.status) as PollRow['status'],
    createdBy: String(r.created_by), createdAt: num(r.created_at), closedAt: numOrNull(r.closed_at),
  };
}

/** The error both stores raise when a class already has an active run (the partial unique index refused it). */
export function activeRunBusy(classId: number, cause?: unknown): QuijoteError {
  return new QuijoteError('BUSY', `Class ${classId} already has a training queued or running.`, {
    cause, hint: 'Wait until it ends or cancel it, then start the new one.',
  });
}

export interface OpenStoreOptions {
  /** Folder for quijote.sqlite (created if missing), or ':memory:' for a throwaway store. */
  dataDir: string;
  clock: Clock;
}

export class Store {
  readonly file: string;
  /** Migration ids applied when this store was opened (empty when the schema was already current). */
  readonly appliedMigrations: number[];
  private readonly db: Database.Database;
  private readonly clock: Clock;

  constructor(options: OpenStoreOptions) {
    this.clock = options.clock;
    if (options.dataDir === ':memory:') {
      this.file = ':memory:';
    } else {
      try {
        fs.mkdirSync(options.dataDir, { recursive: true });
      } catch (cause) {
        throw new QuijoteError('BAD_CONFIG', `Cannot create the data folder ${options.dataDir}.`, {
          cause, hint: 'Set DATA_DIR to a writable folder.',
        });
      }
      this.file = path.join(options.dataDir, STORE_FILE);
    }
    try {
      this.db = new Database(this.file);
    } catch (cause) {
      throw new QuijoteError('BAD_CONFIG', `Cannot open the database ${this.file}: ${(cause as Error).message}.`, {
        cause, hint: 'Check that DATA_DIR is writable, or move the damaged file away to start fresh.',
      });
    }
    // WAL + synchronous=NORMAL: a committed transaction survives the process being killed (kill -9, a crash);
    // after a power cut or OS crash the last transactions (about the last second) can be lost, never corrupted.
    if (this.file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.appliedMigrations = migrate(this.db, this.clock.now());
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The journal mode and synchronous level in effect (README «Fiabilidad» says what they guarantee). */
  durability(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  /**
   * A consistent copy of the database in `destination`, made with SQLite's online backup while the bot keeps
   * writing (pages changed during the copy are copied again). Returns the pages copied.
   */
  async backup(destination: string): Promise<{ totalPages: number }> {
    if (this.file === ':memory:') throw new QuijoteError('BAD_ARGUMENT', 'An in-memory store cannot be backed up.');
    const res = await this.db.backup(destination);
    return { totalPages: res.totalPages };
  }

  // ── classes ────────────────────────────────────────────────────────────────

  findClass(place: Place): ClassRow | undefined {
    const r = this.db.prepare('SELECT * FROM classes WHERE platform = ? AND team_id = ? AND channel_id = ?')
      .get(place.platform, place.teamId, place.channelId) as Row | undefined;
    return r ? toClass(r) : undefined;
  }

  ensureClass(place: Place): ClassRow {
    this.db.prepare('INSERT OR IGNORE INTO classes (platform, team_id, channel_id, created_at) VALUES (?, ?, ?, ?)')
      .run(place.platform, place.teamId, place.channelId, this.clock.now());
    return this.findClass(place) as ClassRow;
  }

  getClass(id: number): ClassRow | undefined {
    const r = this.db.prepare('SELECT * FROM classes WHERE id = ?').get(id) as Row | undefined;
    return r ? toClass(r) : undefined;
  }

  // ── training runs ─────────────────────────────────────────────────────────

  /** Queues a new run. One active (queued or running) run per class is a database invariant: BUSY otherwise. */
  createRun(input: { classId: number; params: RunParams; teacherId: string; sweepId?: number }): RunRow {
    let info: Database.RunResult;
    try {
      info = this.db.prepare(
        "INSERT INTO runs (class_id, params, status, teacher_id, created_at, sweep_id) VALUES (?, ?, 'queued', ?, ?, ?)",
      ).run(input.classId, JSON.stringify(input.params), input.teacherId, this.clock.now(), input.sweepId ?? null);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw activeRunBusy(input.classId, e);
      throw e;
    }
    return this.getRun(Number(info.lastInsertRowid)) as RunRow;
  }

  getRun(id: number): RunRow | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  markRunRunning(id: number): void {
    this.db.prepare("UPDATE runs SET status = 'running', started_at = ? WHERE id = ?").run(this.clock.now(), id);
  }

  completeRun(id: number, result: { metrics: RunMetrics; lossCurve: LossPoint[]; modelDir: string }): RunRow {
    this.db.prepare("UPDATE runs SET status = 'done', metrics = ?, loss_curve = ?, model_dir = ?, finished_at = ? WHERE id = ?")
      .run(JSON.stringify(result.metrics), JSON.stringify(result.lossCurve), result.modelDir, this.clock.now(), id);
    return this.getRun(id) as RunRow;
  }

  endRun(id: number, status: 'failed' | 'cancelled' | 'interrupted', error?: string): void {
    this.db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(status, error ?? null, this.clock.now(), id);
  }

  /** The class's newest finished run: the model that /story and /score use. */
  latestDoneRun(classId: number): RunRow | undefined {
    const r = this.db.prepare("SELECT * FROM runs WHERE class_id = ? AND status = 'done' ORDER BY finished_at DESC, id DESC LIMIT 1")
      .get(classId) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  /**
   * The class model: the run chosen with /usar, unless an ordinary /train finished after that choice
   * (core/store/class-model.ts). A sweep's runs count only once chosen.
   */
  classModelRun(classId: number): RunRow | undefined {
    const c = this.db.prepare('SELECT model_run_id, model_chosen_at FROM classes WHERE id = ?').get(classId) as Row | undefined;
    const chosen = c && c.model_run_id !== null ? this.getRun(num(c.model_run_id)) : undefined;
    const r = this.db.prepare("SELECT * FROM runs WHERE class_id = ? AND status = 'done' AND sweep_id IS NULL ORDER BY finished_at DESC, id DESC LIMIT 1")
      .get(classId) as Row | undefined;
    return pickClassModel(chosen ? { run: chosen, at: num(c!.model_chosen_at) } : undefined, r ? toRun(r) : undefined);
  }

  /** `/usar run:#id`: pins the class model to a finished run of the class, from now on. */
  chooseClassModel(classId: number, runId: number): void {
    this.db.prepare('UPDATE classes SET model_run_id = ?, model_chosen_at = ? WHERE id = ?').run(runId, this.clock.now(), classId);
  }

  // ── sweeps ────────────────────────────────────────────────────────────────

  createSweep(input: NewSweep): SweepRow {
    const info = this.db.prepare("INSERT INTO sweeps (class_id, axis, sweep_values, params, prompt, status, teacher_id, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)")
      .run(input.classId, input.axis, JSON.stringify(input.values), JSON.stringify(input.params), input.prompt, input.teacherId, this.clock.now());
    return this.getSweep(Number(info.lastInsertRowid)) as SweepRow;
  }

  getSweep(id: number): SweepRow | undefined {
    const r = this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as Row | undefined;
    return r ? toSweep(r) : undefined;
  }

  endSweep(id: number, status: Exclude<SweepStatus, 'running'>, error?: string): SweepRow {
    this.db.prepare('UPDATE sweeps SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(status, error ?? null, this.clock.now(), id);
    return this.getSweep(id) as SweepRow;
  }

  /** The sweep's runs in the order they were trained. */
  sweepRuns(sweepId: number): RunRow[] {
    return (this.db.prepare('SELECT * FROM runs WHERE sweep_id = ? ORDER BY id').all(sweepId) as Row[]).map(toRun);
  }

  /** Runs of the class still queued or running. */
  activeRuns(classId: number): RunRow[] {
    return (this.db.prepare("SELECT * FROM runs WHERE class_id = ? AND status IN ('queued','running') ORDER BY id")
      .all(classId) as Row[]).map(toRun);
  }

  /** Every run still queued or running, of every class (for the district's reconciler). */
  unfinishedRuns(): RunRow[] {
    return (this.db.prepare("SELECT * FROM runs WHERE status IN ('queued','running') ORDER BY id").all() as Row[]).map(toRun);
  }

  listRuns(classId: number): RunRow[] {
    return (this.db.prepare('SELECT * FROM runs WHERE class_id = ? ORDER BY id').all(classId) as Row[]).map(toRun);
  }

  /**
   * Call once at start-up, before any job runs: every run left 'queued' or 'running' by the previous process is
   * marked 'interrupted' and returned with its class, so the bot can tell each class channel.
   */
  recoverInterruptedRuns(): InterruptedRun[] {
    return this.db.transaction(() => {
      const rows = (this.db.prepare("SELECT * FROM runs WHERE status IN ('queued','running') ORDER BY id").all() as Row[]).map(toRun);
      const now = this.clock.now();
      const mark = this.db.prepare("UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?");
      const out = rows.map((run) => {
        mark.run(now, `interrupted by a restart while ${run.status}`, run.id);
        return {
          run: this.getRun(run.id) as RunRow,
          class: this.getClass(run.classId) as ClassRow,
          previousStatus: run.status as InterruptedRun['previousStatus'],
        };
      });
      // a sweep's supervisor lives in the bot process: one left running by the previous process is over
      this.db.prepare("UPDATE sweeps SET status = 'interrupted', error = 'interrupted by a restart', finished_at = ? WHERE status = 'running'").run(now);
      return out;
    })();
  }

  // ── result deliveries (core/store/async-store.ts says what each one guarantees) ──

  createDelivery(input: { runId: number; jobId: string; progressMessageId: string | null }): void {
    this.db.prepare('INSERT INTO deliveries (run_id, job_id, progress_message_id) VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET job_id = excluded.job_id, progress_message_id = excluded.progress_message_id')
      .run(input.runId, input.jobId, input.progressMessageId);
  }

  getDelivery(runId: number): RunDelivery | undefined {
    const r = this.db.prepare('SELECT * FROM deliveries WHERE run_id = ?').get(runId) as Row | undefined;
    return r ? toDelivery(r) : undefined;
  }

  claimDelivery(runId: number, by: string, leaseMs: number): RunDelivery | undefined {
    const now = this.clock.now();
    const r = this.db.prepare(`UPDATE deliveries SET claimed_by = ?, lease_until = ?
      WHERE run_id = ? AND delivered_at IS NULL AND (claimed_by IS NULL OR claimed_by = ? OR lease_until < ?) RETURNING *`)
      .get(by, now + leaseMs, runId, by, now) as Row | undefined;
    return r ? toDelivery(r) : undefined;
  }

  renewDelivery(runId: number, by: string, leaseMs: number): boolean {
    return this.db.prepare('UPDATE deliveries SET lease_until = ? WHERE run_id = ? AND claimed_by = ? AND delivered_at IS NULL')
      .run(this.clock.now() + leaseMs, runId, by).changes > 0;
  }

  recordDelivery(runId: number, by: string, step: { resultsMessageId?: string; pollId?: number }): boolean {
    return this.db.prepare(`UPDATE deliveries SET results_message_id = COALESCE(?, results_message_id), poll_id = COALESCE(?, poll_id)
      WHERE run_id = ? AND claimed_by = ? AND delivered_at IS NULL`).run(step.resultsMessageId ?? null, step.pollId ?? null, runId, by).changes > 0;
  }

  finishDelivery(runId: number, by: string): boolean {
    return this.db.prepare('UPDATE deliveries SET delivered_at = ?, lease_until = NULL WHERE run_id = ? AND claimed_by = ? AND delivered_at IS NULL')
      .run(this.clock.now(), runId, by).changes > 0;
  }

  pendingDeliveries(): RunDelivery[] {
    return (this.db.prepare('SELECT * FROM deliveries WHERE delivered_at IS NULL ORDER BY run_id').all() as Row[]).map(toDelivery);
  }

  // ── stories ───────────────────────────────────────────────────────────────

  createStory(input: { classId: number; runId: number | null; model: StoryModel; prompt: string; text: string; seed: number | null }): StoryRow {
    const info = this.db.prepare('INSERT INTO stories (class_id, run_id, model, prompt, text, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(input.classId, input.runId, input.model, input.prompt, input.text, input.seed, this.clock.now());
    return this.getStory(Number(info.lastInsertRowid)) as StoryRow;
  }

  getStory(id: number): StoryRow | undefined {
    const r = this.db.prepare('SELECT * FROM stories WHERE id = ?').get(id) as Row | undefined;
    return r ? toStory(r) : undefined;
  }

  // ── polls and votes ───────────────────────────────────────────────────────

  createPoll(input: { classId: number; runId: number; prompt: string; storyAId: number; storyBId: number; finetunedChoice: PollChoice; createdBy: string }): PollRow {
    const info = this.db.prepare(
      "INSERT INTO polls (class_id, run_id, prompt, story_a_id, story_b_id, finetuned_choice, status, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
    ).run(input.classId, input.runId, input.prompt, input.storyAId, input.storyBId, input.finetunedChoice, input.createdBy, this.clock.now());
    return this.getPoll(Number(info.lastInsertRowid)) as PollRow;
  }

  getPoll(id: number): PollRow | undefined {
    const r = this.db.prepare('SELECT * FROM polls WHERE id = ?').get(id) as Row | undefined;
    return r ? toPoll(r) : undefined;
  }

  /** Records where the poll message lives so it can be edited later (also after a restart). */
  setPollMessage(pollId: number, channelId: string, messageId: string): void {
    this.db.prepare('UPDATE polls SET channel_id = ?, message_id = ? WHERE id = ?').run(channelId, messageId, pollId);
  }

  /**
   * Removes a poll whose message could not be posted (and its two stories), so no invisible poll stays open.
   * Refuses (returns false) once the poll is posted or has votes.
   */
  discardUnpostedPoll(pollId: number): boolean {
    return this.db.transaction(() => {
      const poll = this.getPoll(pollId);
      if (!poll || poll.messageId !== null) return false;
      if (num((this.db.prepare('SELECT COUNT(*) AS n FROM votes WHERE poll_id = ?').get(pollId) as Row).n) !== 0) return false;
      this.db.prepare('DELETE FROM polls WHERE id = ?').run(pollId);
      this.db.prepare('DELETE FROM stories WHERE id IN (?, ?)').run(poll.storyAId, poll.storyBId);
      return true;
    })();
  }

  /** The class's newest open poll that was posted (a poll is posted once setPollMessage recorded its message). */
  latestOpenPoll(classId: number): PollRow | undefined {
    const r = this.db.prepare("SELECT * FROM polls WHERE class_id = ? AND status = 'open' AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1")
      .get(classId) as Row | undefined;
    return r ? toPoll(r) : undefined;
  }

  /** The class's posted polls, oldest first. */
  listPolls(classId: number): PollRow[] {
    return (this.db.prepare('SELECT * FROM polls WHERE class_id = ? AND message_id IS NOT NULL ORDER BY id').all(classId) as Row[]).map(toPoll);
  }

  /** Closes the poll; returns false when it was already closed. */
  closePoll(pollId: number): boolean {
    const info = this.db.prepare("UPDATE polls SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'")
      .run(this.clock.now(), pollId);
    return info.changes > 0;
  }

  /** One vote per user and poll; voting again replaces the previous choice. Refuses closed polls. */
  castVote(pollId: number, userId: string, choice: PollChoice): VoteOutcome {
    return this.db.transaction((): VoteOutcome => {
      const poll = this.getPoll(pollId);
      if (!poll) throw new QuijoteError('NOT_FOUND', `Poll ${pollId} does not exist.`);
      if (poll.status !== 'open') throw new QuijoteError('FORBIDDEN', `Poll ${pollId} is closed; votes are no longer accepted.`);
      const prev = this.db.prepare('SELECT choice FROM votes WHERE poll_id = ? AND user_id = ?').get(pollId, userId) as Row | undefined;
      this.db.prepare(
        'INSERT INTO votes (poll_id, user_id, choice, voted_at) VALUES (?, ?, ?, ?) ON CONFLICT (poll_id, user_id) DO UPDATE SET choice = excluded.choice, voted_at = excluded.voted_at',
      ).run(pollId, userId, choice, this.clock.now());
      return { previous: prev ? (String(prev.choice) as PollChoice) : null, choice, tally: this.tally(pollId) };
    })();
  }

  getVote(pollId: number, userId: string): PollChoice | null {
    const r = this.db.prepare('SELECT choice FROM votes WHERE poll_id = ? AND user_id = ?').get(pollId, userId) as Row | undefined;
    return r ? (String(r.choice) as PollChoice) : null;
  }

  /** Every vote of a poll, oldest first (the teacher's CSV export with voter ids). */
  pollVotes(pollId: number): PollVote[] {
    return (this.db.prepare('SELECT user_id, choice, voted_at FROM votes WHERE poll_id = ? ORDER BY voted_at, user_id').all(pollId) as Row[])
      .map((r) => ({ userId: String(r.user_id), choice: String(r.choice) as PollChoice, votedAt: num(r.voted_at) }));
  }

  tally(pollId: number): Tally {
    const rows = this.db.prepare('SELECT choice, COUNT(*) AS n FROM votes WHERE poll_id = ? GROUP BY choice').all(pollId) as Row[];
    const t: Tally = { A: 0, B: 0, total: 0 };
    for (const r of rows) {
      const n = num(r.n);
      if (r.choice === 'A') t.A = n;
      else if (r.choice === 'B') t.B = n;
      t.total += n;
    }
    return t;
  }
}

export function openStore(options: OpenStoreOptions): Store {
  return new Store(options);
}
