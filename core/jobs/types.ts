/**
 * The two sides of the job seam (the messages themselves are in protocol.ts):
 *  - the bot's `ComputeClient`: submit, cancel, progress, result, queue status. Defined by what a remote
 *    worker could honour: requests are data, answers are messages, no shared memory, no callbacks into the bot;
 *  - inside the compute process, `JobQueue`: the GPU queue on which stories run between training steps.
 */
import type { GpuSlice, TrainProgress } from '../engine.ts';
import type { JobInfo, JobKind, JobOwner, JobParamsByKind, JobResultByKind, WireError } from './protocol.ts';
import type { Place } from '../place.ts';

export type { JobInfo, JobKind, JobStatus } from './protocol.ts';

// ── bot side ──

/** What a command asks for; the client adds the request id and the time. */
export interface JobSpec<K extends JobKind = JobKind> {
  kind: K;
  params: JobParamsByKind[K];
  place: Place;
  owner: JobOwner;
  label?: string;
}

export interface JobHandle<K extends JobKind = JobKind> {
  /** Live view of the job's state (status changes as messages arrive). */
  readonly info: JobInfo;
  /**
   * Settles with the job's result; rejects with the job's QuijoteError (code and hint kept), with CANCELLED once
   * cancelled (even if a result arrives later), or with COMPUTE_CRASHED when the compute process died under it.
   */
  readonly result: Promise<JobResultByKind[K]>;
  /** Called when compute starts running the job (at most once). */
  onStarted(listener: (at: number) => void): void;
  /** Training progress, after every optimizer step. */
  onProgress(listener: (progress: TrainProgress) => void): void;
  /** A training's class model is saved; its evaluation after training is still running. */
  onSaved(listener: (info: { modelDir: string; evalLossBefore: number }) => void): void;
}

export interface ComputeClient {
  submit<K extends JobKind>(spec: JobSpec<K>): JobHandle<K>;
  /**
   * Cancels a queued job (it never runs) or a running one (a training stops at its next step, a story at its next
   * token). False if the job is unknown or already finished.
   */
  cancel(id: string): Promise<boolean>;
  get(id: string): Promise<JobInfo | undefined>;
  /** 0 while running, 1 for the next to run in its lane, 2…; undefined once finished or unknown. */
  position(id: string): Promise<number | undefined>;
  /** Jobs not yet finished: running first, then queued in the order they will start. */
  active(): Promise<JobInfo[]>;
  /** Number of jobs waiting (not running). */
  queuedCount(): Promise<number>;
  /** Backend and base model, as compute reported them, e.g. "wasm · datificate/gpt2-small-spanish". */
  describe(): string;
  /** Resolves when no job is queued or running. */
  idle(): Promise<void>;
  /** Stops the compute side (jobs still running are interrupted). */
  close(): Promise<void>;
}

/**
 * A job's outcome as the queue keeps it (BullMQ: its return value or failure), read by any front-end, not only the
 * one that submitted it: how a front-end takes over the delivery of a result (commands/train-delivery.ts).
 */
export type QueuedJobOutcome<K extends JobKind = JobKind> =
  | { state: 'live' }
  | { state: 'missing' }
  | { state: 'completed'; result: JobResultByKind[K]; finishedOn: number }
  | { state: 'cancelled'; finishedOn: number }
  | { state: 'failed'; error: WireError; finishedOn: number };

/** What commands need from the book without any tensor: how many lines there are and which ones a run used. */
export interface TextService {
  /** Largest valid `lines` value. */
  maxLines(): Promise<number>;
  /** The training lines that `lines` selects (for corpus traces in /reveal). */
  trainingLines(lines: number): Promise<string[]>;
}

// ── compute side ──

export interface JobRunContext {
  job: JobInfo;
  /** Aborted by cancel(); a training stops at the next step boundary, a story at the next token. */
  signal: AbortSignal;
  /**
   * Runs one GPU slice. For a training it queues each optimizer step behind any waiting story/score work;
   * for story/score jobs (which already hold the GPU for their whole run) it simply calls `fn`.
   */
  slice: GpuSlice;
}

/** A job inside the compute process: its public info and the work to do. */
export interface QueueTask<T> {
  info: JobInfo;
  run(ctx: JobRunContext): Promise<T>;
}

export interface QueuedJob<T> {
  readonly info: JobInfo;
  /** Settles with the job's value; rejects with QuijoteError CANCELLED when cancelled (safe to ignore). */
  readonly result: Promise<T>;
}

export interface JobQueue {
  submit<T>(task: QueueTask<T>): QueuedJob<T>;
  get(id: string): JobInfo | undefined;
  /** 0 while running, 1 for the next to run in its lane, 2…; undefined once finished or unknown. */
  position(id: string): number | undefined;
  /** Jobs not yet finished: running first, then queued in the order they will start. */
  active(): JobInfo[];
  /** Number of jobs waiting (not running). */
  queuedCount(): number;
  /** Cancels a queued job (removed at once) or a running one (its signal is aborted). False if not active. */
  cancel(id: string): boolean;
  /** Resolves when no job is queued or running. */
  idle(): Promise<void>;
}

/** Trainings run one after another; stories and scores share the GPU lane at a higher priority. */
export type Lane = 'train' | 'gpu';
export const laneOf = (kind: JobKind): Lane => (kind === 'train' ? 'train' : 'gpu');
