/**
 * Row types of the bot's SQLite store. Timestamps are milliseconds since the epoch taken from an injected clock.
 */
import type { TrainResult } from '../engine.ts';
import type { Place } from '../place.ts';

/** Time source passed into core code (core never reads the system clock itself). */
export interface Clock {
  now(): number;
}

export interface ClassRow extends Place {
  id: number;
  createdAt: number;
}

export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface RunParams {
  lines: number;
  epochs: number;
  lr: number;
  seed?: number;
  /** The teacher's text the run mixed in: which one (its stored copy's sha256, its name) and at what mix. */
  text?: RunText;
}

export interface RunText {
  hash: string;
  name: string;
  /** % of Quijote lines among the training lines. */
  mix: number;
  encoding?: 'utf-8' | 'latin-1';
}

/** The figures of a finished run that the store keeps: a slice of the engine's TrainResult. */
export type RunMetrics = Pick<
  TrainResult,
  'method' | 'evalLossBefore' | 'evalLossAfter' | 'perplexityBefore' | 'perplexityAfter' | 'optimizerSteps' | 'seconds'
> & Pick<TrainResult, 'teacherEval' | 'quijoteLines' | 'teacherLines'>;

export const RUN_METRIC_KEYS = [
  'method', 'evalLossBefore', 'evalLossAfter', 'perplexityBefore', 'perplexityAfter', 'optimizerSteps', 'seconds',
] as const satisfies readonly (keyof RunMetrics)[];

/** The stored metrics of a training result. */
export function runMetricsOf(result: TrainResult): RunMetrics {
  const m = Object.fromEntries(RUN_METRIC_KEYS.map((k) => [k, result[k]])) as unknown as RunMetrics;
  if (result.teacherEval) Object.assign(m, { teacherEval: { ...result.teacherEval }, quijoteLines: result.quijoteLines, teacherLines: result.teacherLines });
  return m;
}

export interface LossPoint {
  step: number;
  loss: number;
}

export interface RunRow {
  id: number;
  classId: number;
  params: RunParams;
  status: RunStatus;
  metrics: RunMetrics | null;
  lossCurve: LossPoint[] | null;
  modelDir: string | null;
  teacherId: string;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The /sweep this run is one value of (null for an ordinary /train). */
  sweepId: number | null;
}

/** Which setting a /sweep varies. */
export type SweepAxis = 'lines' | 'epochs' | 'lr';
export type SweepStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

/** A /sweep: one training per value of `axis`, the other settings (and the seed) fixed in `params`. */
export interface SweepRow {
  id: number;
  classId: number;
  axis: SweepAxis;
  values: number[];
  /** The fixed settings; the axis's own entry is the first value. */
  params: RunParams;
  /** The prompt of the sweep's blind polls. */
  prompt: string;
  status: SweepStatus;
  teacherId: string;
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

export type StoryModel = 'base' | 'finetuned';

export interface StoryRow {
  id: number;
  classId: number;
  runId: number | null;
  model: StoryModel;
  prompt: string;
  text: string;
  seed: number | null;
  createdAt: number;
}

export type PollChoice = 'A' | 'B';
export type PollStatus = 'open' | 'closed';

export interface PollRow {
  id: number;
  classId: number;
  runId: number;
  prompt: string;
  storyAId: number;
  storyBId: number;
  /** Which slot holds the fine-tuned story. Never shown before the reveal. */
  finetunedChoice: PollChoice;
  channelId: string | null;
  messageId: string | null;
  status: PollStatus;
  createdBy: string;
  createdAt: number;
  closedAt: number | null;
}

export interface Tally {
  A: number;
  B: number;
  total: number;
}

/** One stored vote (the CSV export with voter ids). */
export interface PollVote {
  userId: string;
  choice: PollChoice;
  votedAt: number;
}

export interface VoteOutcome {
  /** The user's choice before this vote, if any. */
  previous: PollChoice | null;
  choice: PollChoice;
  tally: Tally;
}

/**
 * Who delivers the end of a training (results message, automatic poll, last progress edit): one front-end at a
 * time holds the claim until `leaseUntil`, renewing it while it works; `deliveredAt` is set once it is all posted.
 */
export interface RunDelivery {
  runId: number;
  /** The compute job (its BullMQ id in a district): where the result is read from. */
  jobId: string;
  progressMessageId: string | null;
  /** Set once the results message is posted (a take-over edits it instead of posting another). */
  resultsMessageId: string | null;
  /** Set once the automatic poll is posted. */
  pollId: number | null;
  claimedBy: string | null;
  leaseUntil: number | null;
  deliveredAt: number | null;
}

export interface InterruptedRun {
  run: RunRow; // now with status 'interrupted'
  class: ClassRow;
  previousStatus: 'queued' | 'running';
}
