/**
 * In-process GPU job queue on p-queue.
 *
 * Two queues, both with concurrency 1:
 *  - `gpu` (fair-gpu.ts): whoever holds it owns the accelerator. Story and score jobs run here whole. A training
 *    never holds it for long: each optimizer step is a separate turn. Classes take turns: within a class its
 *    stories go before its training's next step (a story waits for at most the current step); across classes
 *    round-robin, so a flood of stories in one class delays another class's training by at most one story per step.
 *  - `trainLane`: trainings run one after another (one model in memory at a time); a running training does
 *    not block the GPU between its steps.
 */
import PQueue from 'p-queue';
import { FairGpu } from './fair-gpu.ts';
import type { GpuSlice } from '../engine.ts';
import { QuijoteError, isQuijoteError } from '../errors.ts';
import type { Clock } from '../store/types.ts';
import { laneOf, type JobInfo, type JobQueue, type Lane, type QueuedJob, type QueueTask } from './types.ts';

export const INTERACTIVE_PRIORITY = 10;
export const TRAIN_STEP_PRIORITY = 0;

interface Entry {
  info: JobInfo & { status: JobInfo['status'] };
  lane: Lane;
  controller: AbortController; // the job's own signal (seen by the engine)
  unqueue: AbortController; // removes the job from its lane while still waiting; never aborted once running
  finished: boolean;
}

export interface MemoryJobQueueOptions {
  clock: Clock;
}

export function createJobQueue(options: MemoryJobQueueOptions): JobQueue {
  const { clock } = options;
  const gpu = new FairGpu();
  const classKey = (info: JobInfo) => `${info.place.platform}:${info.place.teamId}/${info.place.channelId}`;
  const trainLane = new PQueue({ concurrency: 1 });
  const entries = new Map<string, Entry>(); // insertion order = submission order
  let idleWaiters: Array<() => void> = [];

  function finish(entry: Entry, status: 'done' | 'failed' | 'cancelled'): void {
    if (entry.finished) return;
    entry.finished = true;
    entry.info.status = status;
    entry.info.finishedAt = clock.now();
    entries.delete(entry.info.id);
    if (entries.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function cancelReason(info: JobInfo): QuijoteError {
    return new QuijoteError('CANCELLED', `Job ${info.id} (${info.kind}) was cancelled.`);
  }

  /** A training's step: queued on the GPU behind interactive work; dropped if the job is cancelled while waiting. */
  function trainSlice(entry: Entry): GpuSlice {
    return <T>(fn: () => Promise<T>): Promise<T> => {
      const jobSignal = entry.controller.signal;
      if (jobSignal.aborted) return Promise.reject(jobSignal.reason);
      const waiting = new AbortController();
      let started = false;
      const onAbort = () => {
        if (!started) waiting.abort(jobSignal.reason);
      };
      jobSignal.addEventListener('abort', onAbort, { once: true });
      return gpu
        .add(classKey(entry.info), 'step', () => {
          started = true;
          return fn();
        }, { signal: waiting.signal })
        .finally(() => jobSignal.removeEventListener('abort', onAbort));
    };
  }

  const passThrough: GpuSlice = (fn) => fn();

  function submit<T>(request: QueueTask<T>): QueuedJob<T> {
    const info: Entry['info'] = { ...request.info, place: { ...request.info.place }, status: 'queued' };
    if (entries.has(info.id)) throw new QuijoteError('INTERNAL', `Job ${info.id} was submitted twice.`);
    const entry: Entry = {
      info, lane: laneOf(info.kind), controller: new AbortController(), unqueue: new AbortController(), finished: false,
    };
    entries.set(info.id, entry);
    const slice = entry.lane === 'train' ? trainSlice(entry) : passThrough;
    const task = async (): Promise<T> => {
      info.status = 'running';
      info.startedAt = clock.now();
      entry.controller.signal.throwIfAborted();
      if (entry.lane !== 'train') return request.run({ job: info, signal: entry.controller.signal, slice });
      gpu.training(classKey(info), true); // other classes' stories take turns with its steps
      try {
        return await request.run({ job: info, signal: entry.controller.signal, slice });
      } finally {
        gpu.training(classKey(info), false);
      }
    };
    const added = entry.lane === 'train'
      ? (trainLane.add(task, { signal: entry.unqueue.signal }) as Promise<T>)
      : gpu.add(classKey(info), 'interactive', task, { id: info.id, signal: entry.unqueue.signal });
    const result = added.then(
      (value) => {
        finish(entry, 'done');
        return value;
      },
      (error: unknown) => {
        if (entry.controller.signal.aborted) {
          finish(entry, 'cancelled');
          throw isQuijoteError(error, 'CANCELLED') ? error : cancelReason(info);
        }
        finish(entry, 'failed');
        throw error;
      },
    );
    result.catch(() => undefined); // callers may ignore a job's outcome; its failure is theirs to report
    return { info, result };
  }

  function queuedInLane(lane: Lane): Entry[] {
    return [...entries.values()].filter((e) => e.lane === lane && e.info.status === 'queued');
  }

  return {
    submit,
    get(id) {
      return entries.get(id)?.info;
    },
    position(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.info.status === 'running') return 0;
      if (entry.lane === 'gpu') {
        const order = gpu.pendingOrder().indexOf(id);
        if (order >= 0) return order + 1;
      }
      return queuedInLane(entry.lane).indexOf(entry) + 1;
    },
    active() {
      const all = [...entries.values()].map((e) => e.info);
      const running = all.filter((i) => i.status === 'running').sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
      return [...running, ...all.filter((i) => i.status === 'queued')];
    },
    queuedCount() {
      return [...entries.values()].filter((e) => e.info.status === 'queued').length;
    },
    cancel(id) {
      const entry = entries.get(id);
      if (!entry || entry.finished) return false;
      const reason = cancelReason(entry.info);
      if (entry.info.status === 'queued') {
        entry.controller.abort(reason);
        entry.unqueue.abort(reason); // p-queue drops it; its promise rejects with `reason`
        finish(entry, 'cancelled');
      } else {
        entry.controller.abort(reason); // the engine stops at the next step boundary
      }
      return true;
    },
    idle() {
      if (entries.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
