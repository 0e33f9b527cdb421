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
import type { TrainProgress } from '../core/engine.ts';
import type { Clock } from '../core/store/types.ts';
import { createProgressReporter, renderProgress, type ProgressReporter } from '../commands/progress.ts';
import type { DeliveryClaim } from '../commands/delivery.ts';

export interface DistrictLoopOptions {
  services: Services;
  runtimes: Partial<Record<Platform, PlatformRuntime>>;
  queue: {
    liveRunKeys(): Promise<Set<string>>;
    jobOutcome(jobId: string): Promise<QueuedJobOutcome>;
    followProgress(jobId: string, listener: (progress: TrainProgress) => void): () => void;
  };
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
  /** Live trainings whose front-end died: this one holds their claim and edits their progress until they end. */
  const following = new Map<number, { claim: DeliveryClaim; progress: ProgressReporter; stop(): void }>();
  let lastReconcile = -Infinity;
  let running: Promise<void> | null = null;

  const placeOf = (c: { platform: Platform; teamId: string; channelId: string }): Place => ({ platform: c.platform, teamId: c.teamId, channelId: c.channelId });

  /** The runs whose job has finished in the queue (the reconciler must leave them to their delivery). */
  async function deliveries(): Promise<Set<number>> {
    const finished = new Set<number>();
    const now = o.clock.now();
    for (const d of await s.store.pendingDeliveries()) {
      if (inFlight.has(d.runId)) continue;
      let followed = following.get(d.runId);
      if (followed && !followed.claim.held) {
        following.delete(d.runId);
        followed.stop();
        followed = undefined;
      }
      if (!followed && (deliveringInThisProcess(s, d.runId) || d.claimedBy === s.frontEndId)) continue;
      const outcome = await o.queue.jobOutcome(d.jobId);
      const lapsed = d.claimedBy !== null && d.leaseUntil !== null && d.leaseUntil < now;
      if (outcome.state === 'live') {
        if (!followed && lapsed) await follow(d.runId);
        continue;
      }
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
      if (followed) following.delete(d.runId), followed.stop();
      else if (d.claimedBy !== null && !lapsed) continue; // its holder is alive
      else if (d.claimedBy === null && now - outcome.finishedOn < graceMs) continue; // the submitting front-end's turn
      const cls = await s.store.getClass(run.classId);
      const runtime = cls ? o.runtimes[cls.platform] : undefined;
      if (!cls || !runtime) continue; // another front-end serves that platform
      const claim = followed?.claim.held ? followed.claim : await claimDelivery(s, d.runId);
      if (!claim) continue;
      const place = placeOf(cls);
      o.logger.warn(`train #${run.id} in ${placeLabel(place)}: its job ended with nobody delivering it${d.claimedBy ? ` (${d.claimedBy} stopped renewing its claim)` : ''}; delivering it here`);
      const work = deliverTakenOver(s, { place, post: (m) => runtime.post(place, m), edit: (id, m) => runtime.edit(place.channelId, id, m) }, claim, run, outcome as FinishedTrainJob, followed?.progress)
        .catch((e: unknown) => o.logger.error(`train #${run.id}: taking over its delivery failed`, e))
        .finally(() => inFlight.delete(d.runId));
      inFlight.set(d.runId, work);
    }
    return finished;
  }

  /** Takes over a live training's progress message (its front-end stopped renewing the claim). */
  async function follow(runId: number): Promise<void> {
    const run = await s.store.getRun(runId);
    const cls = run ? await s.store.getClass(run.classId) : undefined;
    const runtime = cls ? o.runtimes[cls.platform] : undefined;
    if (!run || !cls || !runtime) return;
    const claim = await claimDelivery(s, runId);
    if (!claim) return;
    const id = claim.state.progressMessageId;
    const progress = createProgressReporter({
      handle: { id: id ?? '', edit: async (m) => { if (id && claim.held) await runtime.edit(cls.channelId, id, m); } },
      clock: o.clock, intervalMs: s.config.progressIntervalMs, logger: o.logger,
      render: (p) => ({ text: renderProgress(s, { id: run.id, lines: run.params.lines }, p) }),
    });
    const unfollow = o.queue.followProgress(claim.state.jobId, (p) => { if (claim.held) progress.update(p); });
    following.set(runId, { claim, progress, stop: unfollow });
    o.logger.warn(`train #${run.id} in ${placeLabel(placeOf(cls))}: its front-end stopped renewing its claim while it trained; this front-end edits its progress and will post its end`);
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
      for (const f of following.values()) f.stop();
      await running;
    },
  };
}
