/**
 * The bot's ComputeClient over any transport that carries the protocol's messages (the compute child process,
 * or the in-process executor in tests). It keeps the bot's own view of the queue from what it sent and what
 * came back, so /status and queue positions answer at once even while compute is busy in a synchronous kernel.
 *
 * When compute goes down (crash, out-of-memory kill, SIGKILL), the jobs it was running fail with
 * COMPUTE_CRASHED (OUT_OF_MEMORY when that was the cause) and the jobs still waiting are sent again, in order,
 * once it is back up.
 */
import { randomUUID } from 'node:crypto';
import type { TrainProgress } from '../engine.ts';
import { QuijoteError } from '../errors.ts';
import type { Clock } from '../store/types.ts';
import { errorFromWire, infoOf, type ComputeCommand, type ComputeEvent, type JobInfo, type JobKind, type JobRequest, type WireError } from './protocol.ts';
import { laneOf, type ComputeClient, type JobHandle, type JobSpec } from './types.ts';
import type { HubProgress } from '../model/hub.ts';

/** Carries messages to and from compute. */
export interface ComputeTransport {
  send(command: ComputeCommand): void;
  /** Called for each event, in order. */
  onEvent(listener: (event: ComputeEvent) => void): void;
  /** Compute went away: whatever it was running is lost. `error` says why (code and hint for the class). */
  onDown(listener: (error: WireError) => void): void;
  /** Compute is (back) up and accepts commands: jobs still waiting are sent again. */
  onUp(listener: () => void): void;
  close(): Promise<void>;
  /**
   * A shared queue (BullMQ) answers for every front-end's jobs: those not finished, running first. Then
   * active(), queuedCount() and cancel() see the jobs other front-ends submitted too, and a cancel reaches them.
   */
  sharedActive?(): Promise<JobInfo[]>;
}

export interface ComputeClientOptions {
  transport: ComputeTransport;
  clock: Clock;
  /** What describe() says until compute reports its engine. */
  describe?: string;
  /** While compute downloads the base model (first start), describe() starts with this line. */
  downloadStatus?: (p: HubProgress) => string;
  newId?: () => string;
}

interface Entry {
  request: JobRequest;
  info: JobInfo;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  started: Array<(at: number) => void>;
  progress: Array<(p: TrainProgress) => void>;
  saved: Array<(info: { modelDir: string; evalLossBefore: number }) => void>;
  cancelRequested: boolean;
}

export function createComputeClient(o: ComputeClientOptions): ComputeClient {
  const { transport, clock } = o;
  const newId = o.newId ?? randomUUID;
  const entries = new Map<string, Entry>(); // submission order
  let engine = o.describe ?? '';
  let download: HubProgress | null = null;
  let idleWaiters: Array<() => void> = [];

  function settle(entry: Entry, status: 'done' | 'failed' | 'cancelled', outcome: { value?: unknown; error?: unknown }): void {
    if (!entries.has(entry.info.id)) return;
    entries.delete(entry.info.id);
    entry.info.status = status;
    entry.info.finishedAt = clock.now();
    if (status === 'done') entry.resolve(outcome.value);
    else entry.reject(outcome.error);
    if (entries.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  const cancelled = (entry: Entry) =>
    new QuijoteError('CANCELLED', `Job ${entry.info.id} (${entry.info.kind}) was cancelled.`);

  transport.onEvent((event) => {
    if (event.type === 'ready') {
      engine = event.engine;
      download = null;
      return;
    }
    if (event.type === 'download') {
      download = event.progress;
      return;
    }
    if (event.type === 'log') return; // the transport logs them
    const entry = entries.get(event.jobId);
    if (!entry) return; // cancelled here already, or another front-end's job
    switch (event.type) {
      case 'started':
        if (entry.info.status !== 'queued') return;
        entry.info.status = 'running';
        entry.info.startedAt = event.at;
        for (const l of entry.started) l(event.at);
        return;
      case 'progress':
        for (const l of entry.progress) l(event.progress);
        return;
      case 'saved':
        if (entry.cancelRequested) return;
        for (const l of entry.saved) l({ modelDir: event.modelDir, evalLossBefore: event.evalLossBefore });
        return;
      case 'result':
        if (entry.cancelRequested) settle(entry, 'cancelled', { error: cancelled(entry) });
        else settle(entry, 'done', { value: event.result });
        return;
      case 'failed':
        if (entry.cancelRequested) settle(entry, 'cancelled', { error: cancelled(entry) });
        else settle(entry, 'failed', { error: errorFromWire(event.error) });
        return;
      case 'cancelled':
        settle(entry, 'cancelled', { error: cancelled(entry) });
        return;
    }
  });

  transport.onDown((error) => {
    for (const entry of [...entries.values()]) {
      if (entry.info.status !== 'running') continue;
      if (entry.cancelRequested) settle(entry, 'cancelled', { error: cancelled(entry) });
      else settle(entry, 'failed', { error: errorFromWire(error) });
    }
  });

  transport.onUp(() => {
    for (const entry of entries.values()) {
      if (entry.info.status === 'queued') transport.send({ type: 'submit', request: entry.request });
    }
  });

  function queuedInLane(kind: JobKind): Entry[] {
    const lane = laneOf(kind);
    return [...entries.values()].filter((e) => laneOf(e.info.kind) === lane && e.info.status === 'queued');
  }

  function activeInfos(): JobInfo[] {
    const all = [...entries.values()].map((e) => e.info);
    const running = all.filter((i) => i.status === 'running').sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    return [...running, ...all.filter((i) => i.status === 'queued')];
  }

  return {
    submit<K extends JobKind>(spec: JobSpec<K>): JobHandle<K> {
      const request: JobRequest<K> = { id: newId(), kind: spec.kind, params: spec.params, place: { ...spec.place }, owner: { ...spec.owner }, label: spec.label, createdAt: clock.now() };
      const info = infoOf(request);
      let resolve!: (v: unknown) => void;
      let reject!: (e: unknown) => void;
      const result = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      result.catch(() => undefined); // callers may ignore a job's outcome; its failure is theirs to report
      const entry: Entry = { request, info, resolve, reject, started: [], progress: [], saved: [], cancelRequested: false };
      entries.set(info.id, entry);
      transport.send({ type: 'submit', request });
      return {
        info,
        result: result as JobHandle<K>['result'],
        onStarted: (l) => void entry.started.push(l),
        onProgress: (l) => void entry.progress.push(l),
        onSaved: (l) => void entry.saved.push(l),
      };
    },

    async cancel(id) {
      const entry = entries.get(id);
      if (!entry && transport.sharedActive) {
        // another front-end's job: the queue takes the cancel to whichever worker holds it
        if (!(await transport.sharedActive()).some((i) => i.id === id)) return false;
        transport.send({ type: 'cancel', jobId: id });
        return true;
      }
      if (!entry || entry.cancelRequested) return false;
      entry.cancelRequested = true;
      transport.send({ type: 'cancel', jobId: id });
      // A waiting job never runs: settle it now. A running one settles when compute confirms it stopped.
      if (entry.info.status === 'queued') settle(entry, 'cancelled', { error: cancelled(entry) });
      return true;
    },

    async get(id) {
      return entries.get(id)?.info;
    },

    async position(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.info.status === 'running') return 0;
      return queuedInLane(entry.info.kind).indexOf(entry) + 1;
    },

    async active() {
      const mine = activeInfos().filter((i) => !entries.get(i.id)?.cancelRequested);
      if (!transport.sharedActive) return mine;
      const others = (await transport.sharedActive()).filter((i) => !entries.has(i.id));
      const all = [...mine, ...others];
      return [...all.filter((i) => i.status === 'running'), ...all.filter((i) => i.status === 'queued')];
    },

    async queuedCount() {
      const mine = [...entries.values()].filter((e) => e.info.status === 'queued').length;
      if (!transport.sharedActive) return mine;
      return mine + (await transport.sharedActive()).filter((i) => i.status === 'queued' && !entries.has(i.id)).length;
    },

    describe: () => (download && o.downloadStatus ? `${o.downloadStatus(download)} ${engine}` : engine),

    idle() {
      if (entries.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    close: () => transport.close(),
  };
}
