/**
 * The store's async contract: the same operations as the SQLite `Store` (core/store/store.ts), as promises, so that
 * one implementation can be local SQLite (sqlite-async.ts) and another a PostgreSQL server shared by several
 * processes (postgres.ts). test/store-contract.test.ts runs one suite against both.
 *
 * Invariants every implementation keeps in the database itself, not by read-then-write:
 * - one active (queued or running) run per class: `createRun` fails with BUSY otherwise;
 * - one vote per user and poll, exact under concurrent writers; a closed poll refuses votes (FORBIDDEN).
 */
import type {
  ClassRow, InterruptedRun, LossPoint, PollChoice, PollRow, RunMetrics, RunParams, RunRow, StoryModel,
  PollVote, RunDelivery, StoryRow, SweepRow, SweepStatus, Tally, VoteOutcome,
} from './types.ts';
import type { NewSweep } from './store.ts';
import type { Place } from '../place.ts';

export interface AsyncStore {
  /** 'sqlite' or 'postgres'. */
  readonly kind: 'sqlite' | 'postgres';
  /** Migration ids this process applied when it opened the store (empty when the schema was already current). */
  readonly appliedMigrations: number[];
  close(): Promise<void>;

  findClass(place: Place): Promise<ClassRow | undefined>;
  ensureClass(place: Place): Promise<ClassRow>;
  getClass(id: number): Promise<ClassRow | undefined>;

  createRun(input: { classId: number; params: RunParams; teacherId: string; sweepId?: number }): Promise<RunRow>;
  getRun(id: number): Promise<RunRow | undefined>;
  markRunRunning(id: number): Promise<void>;
  completeRun(id: number, result: { metrics: RunMetrics; lossCurve: LossPoint[]; modelDir: string }): Promise<RunRow>;
  endRun(id: number, status: 'failed' | 'cancelled' | 'interrupted', error?: string): Promise<void>;
  latestDoneRun(classId: number): Promise<RunRow | undefined>;
  activeRuns(classId: number): Promise<RunRow[]>;
  /** The class model: the run chosen with /usar unless an ordinary /train finished later (class-model.ts). */
  classModelRun(classId: number): Promise<RunRow | undefined>;
  chooseClassModel(classId: number, runId: number): Promise<void>;
  createSweep(input: NewSweep): Promise<SweepRow>;
  getSweep(id: number): Promise<SweepRow | undefined>;
  endSweep(id: number, status: Exclude<SweepStatus, 'running'>, error?: string): Promise<SweepRow>;
  sweepRuns(sweepId: number): Promise<RunRow[]>;
  listRuns(classId: number): Promise<RunRow[]>;
  /** Every run still queued or running, of every class (for the district's reconciler). */
  unfinishedRuns(): Promise<RunRow[]>;
  /** Single-process start-up recovery (the embedded mode): every queued or running run (and running sweep) becomes interrupted. */
  recoverInterruptedRuns(): Promise<InterruptedRun[]>;

  // Result deliveries: exactly one front-end posts the end of a training, and another takes over if it dies.
  /** Records the training's job and progress message (its delivery is pending until finishDelivery). */
  createDelivery(input: { runId: number; jobId: string; progressMessageId: string | null }): Promise<void>;
  getDelivery(runId: number): Promise<RunDelivery | undefined>;
  /**
   * Takes the delivery for `by` until now + leaseMs, atomically, if it is still pending and unclaimed, already
   * `by`'s, or its lease ran out (its front-end died); undefined when someone else holds it or it is delivered.
   */
  claimDelivery(runId: number, by: string, leaseMs: number): Promise<RunDelivery | undefined>;
  /** Extends `by`'s lease; false when `by` no longer holds it (it must stop posting). */
  renewDelivery(runId: number, by: string, leaseMs: number): Promise<boolean>;
  /** Records a posted step (the results message, the poll) so that a take-over does not post it again. */
  recordDelivery(runId: number, by: string, step: { resultsMessageId?: string; pollId?: number }): Promise<boolean>;
  /** Marks it delivered; false when `by` did not hold it. */
  finishDelivery(runId: number, by: string): Promise<boolean>;
  pendingDeliveries(): Promise<RunDelivery[]>;
  /**
   * Runs `fn` while holding the poll's lock across every process on this store, so that poll-message edits from
   * several front-ends never interleave (each edit reads the tally inside the lock: the last edit shows the last
   * tally). Released if the process dies.
   */
  withPollLock<T>(pollId: number, fn: () => Promise<T>): Promise<T>;

  createStory(input: { classId: number; runId: number | null; model: StoryModel; prompt: string; text: string; seed: number | null }): Promise<StoryRow>;
  getStory(id: number): Promise<StoryRow | undefined>;

  createPoll(input: { classId: number; runId: number; prompt: string; storyAId: number; storyBId: number; finetunedChoice: PollChoice; createdBy: string }): Promise<PollRow>;
  getPoll(id: number): Promise<PollRow | undefined>;
  setPollMessage(pollId: number, channelId: string, messageId: string): Promise<void>;
  /** Removes a poll whose message could not be posted (and its two stories); false once posted or voted on. */
  discardUnpostedPoll(pollId: number): Promise<boolean>;
  /** The class's newest open poll that was posted (setPollMessage recorded its message). */
  latestOpenPoll(classId: number): Promise<PollRow | undefined>;
  /** The class's posted polls, oldest first. */
  listPolls(classId: number): Promise<PollRow[]>;
  closePoll(pollId: number): Promise<boolean>;
  castVote(pollId: number, userId: string, choice: PollChoice): Promise<VoteOutcome>;
  getVote(pollId: number, userId: string): Promise<PollChoice | null>;
  /** Every vote of a poll, oldest first (the teacher's CSV export with voter ids). */
  pollVotes(pollId: number): Promise<PollVote[]>;
  tally(pollId: number): Promise<Tally>;
}
