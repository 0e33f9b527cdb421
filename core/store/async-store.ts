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
  StoryRow, SweepRow, SweepStatus, Tally, VoteOutcome,
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

  createStory(input: { classId: number; runId: number | null; model: StoryModel; prompt: string; text: string; seed: number | null }): Promise<StoryRow>;
  getStory(id: number): Promise<StoryRow | undefined>;

  createPoll(input: { classId: number; runId: number; prompt: string; storyAId: number; storyBId: number; finetunedChoice: PollChoice; createdBy: string }): Promise<PollRow>;
  getPoll(id: number): Promise<PollRow | undefined>;
  setPollMessage(pollId: number, channelId: string, messageId: string): Promise<void>;
  latestOpenPoll(classId: number): Promise<PollRow | undefined>;
  listPolls(classId: number): Promise<PollRow[]>;
  closePoll(pollId: number): Promise<boolean>;
  castVote(pollId: number, userId: string, choice: PollChoice): Promise<VoteOutcome>;
  getVote(pollId: number, userId: string): Promise<PollChoice | null>;
  tally(pollId: number): Promise<Tally>;
}
