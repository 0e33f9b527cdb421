/**
 * What the BullMQ transport and its workers agree on: queue names, how a job's outcome is encoded in BullMQ's
 * fields, and the Redis keys and channel that carry cancellation to whichever worker holds the job.
 *
 * Two queues, so that a story never waits behind a training in Redis: `train` (one training per worker at a time)
 * and `gpu` (stories and scores). A worker takes from both; inside it, the compute executor runs a story between
 * two optimizer steps of its training, as in the embedded mode.
 */
import { UnrecoverableError } from 'bullmq';
import type { JobKind, WireError } from '../../../core/jobs/protocol.ts';
import type { ErrorCode } from '../../../core/errors.ts';

export const PREFIX = 'quijote';
export const QUEUES = { train: 'train', gpu: 'gpu' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const queueOf = (kind: JobKind): QueueName => (kind === 'train' ? QUEUES.train : QUEUES.gpu);

/** Pub/sub channel of cancel requests (the job id is the message). */
export const CANCEL_CHANNEL = `${PREFIX}:cancel`;
/** Set when a job is cancelled, so a worker that picks it up later (or takes it over) stops at once. */
export const cancelKey = (jobId: string) => `${PREFIX}:cancelled:${jobId}`;
export const CANCEL_TTL_S = 7 * 24 * 3600;

const CANCELLED_REASON = 'CANCELLED';

/** A failed job's reason as stored by BullMQ: the wire error as JSON, or the cancellation marker. */
export function failureReason(error: WireError): string {
  return JSON.stringify(error);
}

/** Cancelled jobs fail with UnrecoverableError, so BullMQ never retries them. */
export function cancelledError(): UnrecoverableError {
  return new UnrecoverableError(CANCELLED_REASON);
}

export type Outcome = { cancelled: true } | { cancelled: false; error: WireError };

export function outcomeOf(failedReason: string | undefined): Outcome {
  if (failedReason === CANCELLED_REASON) return { cancelled: true };
  try {
    const e = JSON.parse(failedReason ?? '') as WireError;
    if (typeof e.code === 'string' && typeof e.message === 'string') return { cancelled: false, error: e };
  } catch {
    // not ours: a stall past the limit, a lost lock, a Redis error
  }
  const stalled = /stalled/i.test(failedReason ?? '');
  return {
    cancelled: false,
    error: {
      code: (stalled ? 'COMPUTE_CRASHED' : 'INTERNAL') as ErrorCode,
      message: stalled ? 'The workers running this job kept dying; it was given up.' : `The job failed in the queue: ${failedReason ?? 'no reason'}.`,
      hint: 'Try again; if it happens again, look at the workers\' logs.',
    },
  };
}
