/**
 * The GPU job queue seen by the bot. Kept as an interface so that another implementation (e.g. backed by
 * Redis for several bot processes) could replace the in-process one in memory-queue.ts.
 */
import type { GpuSlice } from '../engine.ts';

export type JobKind = 'train' | 'story' | 'score' | 'inspect';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** Where the job was asked for; structurally the same as commands' `Place`. */
export interface JobPlace {
  platform: string;
  teamId: string;
  channelId: string;
}

export interface JobInfo {
  readonly id: string;
  readonly kind: JobKind;
  readonly ownerId: string;
  /** How to name the owner in /status (display name); falls back to the id. */
  readonly ownerName?: string;
  readonly place: JobPlace;
  /** Short free text for /status, e.g. "500 líneas". */
  readonly label?: string;
  status: JobStatus;
  readonly createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface JobRunContext {
  job: JobInfo;
  /** Aborted by cancel(); a training passes it to Engine.train, which stops at the next step boundary. */
  signal: AbortSignal;
  /**
   * Runs one GPU slice. For a training it queues each optimizer step behind any waiting story/score work;
   * for story/score jobs (which already hold the GPU for their whole run) it simply calls `fn`.
   */
  slice: GpuSlice;
}

export interface JobRequest<T> {
  kind: JobKind;
  ownerId: string;
  ownerName?: string;
  place: JobPlace;
  label?: string;
  run(ctx: JobRunContext): Promise<T>;
}

export interface Job<T> {
  readonly info: JobInfo;
  /** Settles with the job's value; rejects with QuijoteError CANCELLED when cancelled (safe to ignore). */
  readonly result: Promise<T>;
}

export interface JobQueue {
  submit<T>(request: JobRequest<T>): Job<T>;
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
