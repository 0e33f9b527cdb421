/**
 * The end of a training (the last progress edit, the results message, the automatic poll) is posted by exactly
 * one front-end: the one holding the run's delivery claim in the store (core/store/async-store.ts). The claim is a
 * lease that the holder renews while it works; if its front-end dies, another one takes it over once the lease
 * runs out (bot/district-loop.ts) and posts only the steps not yet recorded. In the embedded mode the one process
 * always holds it.
 */
import type { RunDelivery } from '../core/store/types.ts';
import type { Services } from './types.ts';

export interface DeliveryClaim {
  readonly runId: number;
  /** The delivery as claimed, with the steps recorded since. */
  readonly state: RunDelivery;
  /** False once another front-end took the delivery over (or the store refused a renewal): post nothing more. */
  readonly held: boolean;
  /** Records a posted step, so that no take-over posts it again. */
  record(step: { resultsMessageId?: string; pollId?: number }): Promise<void>;
  /** Marks the delivery done and stops renewing the lease. */
  finish(): Promise<void>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs whose delivery this process is working on, per store (the take-over loop leaves them alone). */
const deliveringHere = new WeakMap<object, Set<number>>();
function here(s: Services): Set<number> {
  let set = deliveringHere.get(s.store);
  if (!set) deliveringHere.set(s.store, (set = new Set()));
  return set;
}

/** Whether this process is delivering (or about to deliver) the run. */
export function deliveringInThisProcess(s: Services, runId: number): boolean {
  return here(s).has(runId);
}

/** Claims the run's delivery for this front-end (undefined when another one holds it or it is delivered). */
export async function claimDelivery(s: Services, runId: number): Promise<DeliveryClaim | undefined> {
  const leaseMs = s.config.distributed.deliveryLeaseMs;
  here(s).add(runId);
  const got = await s.store.claimDelivery(runId, s.frontEndId, leaseMs).catch((e: unknown) => {
    here(s).delete(runId);
    throw e;
  });
  if (!got) {
    here(s).delete(runId);
    return undefined;
  }
  let state = got;
  let held = true;
  let finished = false;
  /** `taken`: the store says another front-end holds it now (else a renewal was refused). */
  const lose = (taken: boolean) => {
    if (!held) return;
    held = false;
    clearInterval(timer);
    here(s).delete(runId);
    s.logger.warn(`train #${runId}: ${taken ? 'another front-end took over the delivery' : 'lost the delivery claim'}; the front-end holding it now posts the rest`);
  };
  const timer = setInterval(() => {
    s.store.renewDelivery(runId, s.frontEndId, leaseMs).then(
      (ok) => { if (!ok && !finished) lose(false); },
      (e: unknown) => s.logger.warn(`train #${runId}: could not renew the delivery claim: ${message(e)}`),
    );
  }, Math.max(20, Math.floor(leaseMs / 3)));
  timer.unref();
  return {
    runId,
    get state() { return state; },
    get held() { return held; },
    async record(step) {
      if (!held) return;
      if (await s.store.recordDelivery(runId, s.frontEndId, step)) {
        state = { ...state, ...(step.resultsMessageId ? { resultsMessageId: step.resultsMessageId } : {}), ...(step.pollId ? { pollId: step.pollId } : {}) };
      } else lose(true);
    },
    async finish() {
      finished = true;
      clearInterval(timer);
      here(s).delete(runId);
      if (held && !(await s.store.finishDelivery(runId, s.frontEndId))) lose(true);
    },
  };
}

/**
 * The submitting front-end's side: records the run's job and progress message at once, and claims the delivery
 * once when the end comes (every later call gets the same claim). If the store could not record the job, this
 * front-end delivers without a claim (nobody else knows the job).
 */
export function trackDelivery(s: Services, runId: number, jobId: string, progressMessageId: string): { claim(): Promise<DeliveryClaim | undefined> } {
  here(s).add(runId);
  const recorded = s.store.createDelivery({ runId, jobId, progressMessageId }).then(
    () => true,
    (e: unknown) => (s.logger.error(`train #${runId}: could not record its job for delivery`, e), false),
  );
  let claim: Promise<DeliveryClaim | undefined> | undefined;
  return {
    claim: () => (claim ??= recorded.then((ok) => (ok ? claimDelivery(s, runId) : unrecordedClaim(runId, jobId, progressMessageId)))),
  };
}

function unrecordedClaim(runId: number, jobId: string, progressMessageId: string): DeliveryClaim {
  let state: RunDelivery = { runId, jobId, progressMessageId, resultsMessageId: null, pollId: null, claimedBy: null, leaseUntil: null, deliveredAt: null };
  return {
    runId,
    get state() { return state; },
    held: true,
    async record(step) { state = { ...state, ...step }; },
    async finish() {},
  };
}
