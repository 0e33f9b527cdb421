/**
 * What a district front-end (ROLE=bot) does in the background, every `tickMs`:
 *  - result deliveries: a training whose job finished in the queue but whose delivery nobody holds (its front-end
 *    died before or while posting it) is claimed in the store and delivered here (commands/train-delivery.ts),
 *    exactly once across front-ends; the submitting front-end gets `graceMs` after the job's end to do it itself;
 *  - every `reconcileMs`, the reconciler (core/jobs/reconciler.ts): a run that the store calls queued or running
 *    with no job in the queue is marked interrupted and its class is told.
 */
import { deliveringInThisProcess, claimDelivery } from '../commands/delivery.ts';
import { t, type Locale } from '../commands/messages.ts';
import { placeLabel } from '../commands/respond.ts';
import { deliverTakenOver, type FinishedTrainJob } from '../commands/train-delivery.ts';
import type { Logger, Place, PlatformRuntime, Services } from '../commands/types.ts';
import { reconcileRuns } from '../core/jobs/reconciler.ts';
import type { QueuedJobOutcome } from '../core/jobs/types.ts';
import type { Platform } from '../core/place.ts';
import type { Clock } from '../core/store/types.ts';

export interface DistrictLoopOptions {
  services: Services;
  runtimes: Partial<Record<Platform, PlatformRuntime>>;
  queue: { liveRunKeys(): Promise<Set<string>>; jobOutcome(jobId: string): Promise<QueuedJobOutcome> };
  clock: Clock;
  logger: Logger;
  locale: Locale;
  /** Default: half the delivery lease. */
  tickMs?: number;
  /** Default: the delivery lease (DELIVERY_LEASE_MS). */
  graceMs?: number;
  /** Default 60 s. */
  reconcileMs?: number;
}

export interface DistrictLoop {
  /** One pass now (also what the timer runs). */
  tick(): Promise<void>;
  /** Take-over deliveries still posting. */
  readonly delivering: ReadonlySet<number>;
  stop(): Promise<void>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function startDistrictLoop(o: DistrictLoopOptions): DistrictLoop {
  const s = o.services;
  const lease = s.config.distributed.deliveryLeaseMs;
  const graceMs = o.graceMs ?? lease;
  const reconcileMs = o.reconcileMs ?? 60_000;
  const inFlight = new Map<number, Promise<void>>();
  let lastReconcile = -Infinity;
  let running: Promise<void> | null = null;

  const placeOf = (c: { platform: Platform; teamId: string; channelId: string }): Place => ({ platform: c.platform, teamId: c.teamId, channelId: c.channelId });

  /** The runs whose job has finished in the queue (the reconciler must leave them to their delivery). */
  async function deliveries(): Promise<Set<number>> {
    const finished = new Set<number>();
    const now = o.clock.now();
    for (const d of await s.store.pendingDeliveries()) {
      if (inFlight.has(d.runId) || deliveringInThisProcess(s, d.runId)) continue;
      if (d.claimedBy === s.frontEndId) continue;
      const outcome = await o.queue.jobOutcome(d.jobId);
      if (outcome.state === 'live') continue;
      const run = await s.store.getRun(d.runId);
      if (!run) continue;
      if (outcome.state === 'missing') {
        // its job is gone: the reconciler interrupts the run (and tells the class); then nothing is left to deliver
        if (run.status !== 'queued' && run.status !== 'running') {
          const claim = await claimDelivery(s, d.runId);
          await claim?.finish();
        }
        continue;
      }
      finished.add(d.runId);
      if (d.claimedBy !== null && d.leaseUntil !== null && d.leaseUntil >= now) continue; // its holder is alive
      if (d.claimedBy === null && now - outcome.finishedOn < graceMs) continue; // the submitting front-end's turn
      const cls = await s.store.getClass(run.classId);
      const runtime = cls ? o.runtimes[cls.platform] : undefined;
      if (!cls || !runtime) continue; // another front-end serves that platform
      const claim = await claimDelivery(s, d.runId);
      if (!claim) continue;
      const place = placeOf(cls);
      o.logger.warn(`train #${run.id} in ${placeLabel(place)}: its job ended with nobody delivering it${d.claimedBy ? ` (${d.claimedBy} stopped renewing its claim)` : ''}; delivering it here`);
      const work = deliverTakenOver(s, { place, post: (m) => runtime.post(place, m), edit: (id, m) => runtime.edit(place.channelId, id, m) }, claim, run, outcome as FinishedTrainJob)
        .catch((e: unknown) => o.logger.error(`train #${run.id}: taking over its delivery failed`, e))
        .finally(() => inFlight.delete(d.runId));
      inFlight.set(d.runId, work);
    }
    return finished;
  }

  async function reconcile(finished: Set<number>): Promise<void> {
    const store = s.store;
    const found = await reconcileRuns({
      unfinishedRuns: async () => (await store.unfinishedRuns()).filter((r) => !finished.has(r.id)),
      getClass: (id) => store.getClass(id),
      interrupt: (id, error) => store.endRun(id, 'interrupted', error),
      liveRunKeys: () => o.queue.liveRunKeys(),
      clock: o.clock,
    });
    for (const { run, class: cls } of found) {
      const place = placeOf(cls);
      o.logger.warn(`reconciler: run #${run.id} of ${placeLabel(place)} had no job in the queue; marked interrupted`);
      await o.runtimes[cls.platform]?.post(place, { text: t(o.locale, 'train.interrupted', { run: run.id, lines: run.params.lines }) })
        .catch((e: unknown) => o.logger.warn(t(o.locale, 'start.noticeFailed', { place: placeLabel(place), run: run.id, detail: message(e) })));
    }
  }

  async function tick(): Promise<void> {
    const finished = await deliveries().catch((e: unknown) => {
      o.logger.warn(`deliveries: ${message(e)}`);
      return null;
    });
    if (finished && o.clock.now() - lastReconcile >= reconcileMs) {
      lastReconcile = o.clock.now();
      await reconcile(finished).catch((e: unknown) => o.logger.warn(`reconciler: ${message(e)}`));
    }
  }

  const safeTick = () => {
    if (running) return;
    running = tick().finally(() => (running = null));
  };
  safeTick();
  const timer = setInterval(safeTick, o.tickMs ?? Math.max(100, Math.floor(lease / 2)));
  timer.unref();

  return {
    tick: async () => {
      await running;
      await tick();
    },
    get delivering() { return new Set(inFlight.keys()); },
    async stop() {
      // deliveries still posting are not waited for: their claims lapse and another front-end finishes them
      clearInterval(timer);
      await running;
    },
  };
}
