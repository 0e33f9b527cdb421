/**
 * The sweeps running in this bot process, per class. A sweep's supervisor (commands/sweep.ts) lives here, in
 * memory: /train and /usar wait while one runs, and a teacher's /cancel asks it to stop before its next value.
 * Claimed synchronously, before any await, so two quick /sweep in one class cannot both start. A restart ends
 * every sweep (the store marks them interrupted, like their runs).
 */
import type { Services } from './types.ts';

export interface ActiveSweep {
  /** 0 until the store gave the sweep its id. */
  sweepId: number;
  /** A teacher's /cancel: no further value starts. */
  stopRequested: boolean;
}

const perServices = new WeakMap<Services, Map<number, ActiveSweep>>();

function registry(s: Services): Map<number, ActiveSweep> {
  let m = perServices.get(s);
  if (!m) {
    m = new Map();
    perServices.set(s, m);
  }
  return m;
}

export function activeSweep(s: Services, classId: number): ActiveSweep | undefined {
  return registry(s).get(classId);
}

/** Claims the class for a new sweep, or undefined when one already runs there. */
export function claimSweep(s: Services, classId: number): ActiveSweep | undefined {
  const m = registry(s);
  if (m.has(classId)) return undefined;
  const a: ActiveSweep = { sweepId: 0, stopRequested: false };
  m.set(classId, a);
  return a;
}

export function releaseSweep(s: Services, classId: number, a: ActiveSweep): void {
  const m = registry(s);
  if (m.get(classId) === a) m.delete(classId);
}

/** /cancel by a teacher: the running sweep of the class stops before its next value (its current job is cancelled apart). */
export function requestSweepStop(s: Services, classId: number): ActiveSweep | undefined {
  const a = registry(s).get(classId);
  if (a && a.sweepId > 0) a.stopRequested = true;
  return a && a.sweepId > 0 ? a : undefined;
}
