/**
 * The compute side of the job seam: takes ComputeCommands, runs the jobs on the engine through the in-process
 * GPU queue (stories between training steps) and answers with ComputeEvents. Runs inside the compute process;
 * a test or a benchmark may also run it in-process behind the local transport.
 */
import type { Engine } from '../engine.ts';
import { isQuijoteError } from '../errors.ts';
import type { Clock } from '../store/types.ts';
import { runHandler } from './handlers.ts';
import { createJobQueue } from './memory-queue.ts';
import { errorToWire, infoOf, type ComputeCommand, type ComputeEvent, type JobRequest, type WireError } from './protocol.ts';

export interface ExecutorOptions {
  engine: Engine;
  clock: Clock;
  emit(event: ComputeEvent): void;
  /** Told about every failed job (the compute process restarts itself after errors that leave the heap unsafe). */
  onFailure?(error: WireError, request: JobRequest): void;
}

export interface Executor {
  handle(command: ComputeCommand): void;
  idle(): Promise<void>;
}

export function createExecutor(o: ExecutorOptions): Executor {
  const queue = createJobQueue({ clock: o.clock });
  const requests = new Map<string, JobRequest>();

  function submit(request: JobRequest): void {
    if (requests.has(request.id) || queue.get(request.id)) return; // a re-sent request: already known
    requests.set(request.id, request);
    const job = queue.submit({
      info: infoOf(request),
      run: (ctx) => {
        o.emit({ type: 'started', jobId: request.id, at: o.clock.now() });
        return runHandler(o.engine, request.kind, request.params as never, {
          ...ctx,
          onProgress: (progress) => o.emit({ type: 'progress', jobId: request.id, progress }),
          onSaved: ({ modelDir, evalLossBefore }) => o.emit({ type: 'saved', jobId: request.id, modelDir, evalLossBefore }),
        });
      },
    });
    job.result.then(
      (result) => o.emit({ type: 'result', jobId: request.id, at: o.clock.now(), result }),
      (e: unknown) => {
        if (isQuijoteError(e, 'CANCELLED')) {
          o.emit({ type: 'cancelled', jobId: request.id, at: o.clock.now() });
          return;
        }
        const error = errorToWire(e);
        o.emit({ type: 'failed', jobId: request.id, at: o.clock.now(), error });
        o.onFailure?.(error, request);
      },
    ).finally(() => requests.delete(request.id));
  }

  return {
    handle(command) {
      switch (command.type) {
        case 'submit':
          submit(command.request);
          return;
        case 'cancel':
          queue.cancel(command.jobId);
          return;
        case 'shutdown':
          return;
      }
    },
    idle: () => queue.idle(),
  };
}
