/**
 * The district's replacement for "at start-up, mark every running run interrupted": with several front-ends and
 * workers, a run that is queued or running in the store may be alive on another machine. Periodically, each run
 * that the store calls unfinished is compared with the queue: only a run with no live job (waiting, running, or
 * finished moments ago and being recorded) for longer than the grace period is marked interrupted.
 */
import type { Place } from '../place.ts';
import { runModelKey } from '../store/paths.ts';
import type { ClassRow, Clock, InterruptedRun, RunRow } from '../store/types.ts';

export interface ReconcileDeps {
  unfinishedRuns(): Promise<RunRow[]> | RunRow[];
  getClass(id: number): Promise<ClassRow | undefined> | ClassRow | undefined;
  interrupt(runId: number, error: string): Promise<void> | void;
  /** Model keys (classes/<class>/run-<id>) of the train jobs the queue holds alive, across every front-end. */
  liveRunKeys(): Promise<Set<string>>;
  clock: Clock;
  /** A run younger than this is left alone (its job may not be in the queue yet). Default 60 s. */
  graceMs?: number;
}

export async function reconcileRuns(d: ReconcileDeps): Promise<InterruptedRun[]> {
  const live = await d.liveRunKeys(); // read before the runs: a job added meanwhile belongs to a run inside the grace
  const grace = d.graceMs ?? 60_000;
  const now = d.clock.now();
  const out: InterruptedRun[] = [];
  for (const run of await d.unfinishedRuns()) {
    const cls = await d.getClass(run.classId);
    if (!cls) continue;
    const place: Place = { platform: cls.platform, teamId: cls.teamId, channelId: cls.channelId };
    if (live.has(runModelKey(place, run.id))) continue;
    if (now - Math.max(run.createdAt, run.startedAt ?? 0) < grace) continue;
    await d.interrupt(run.id, `interrupted: no worker holds its job (the reconciler found it ${run.status} with no job in the queue)`);
    out.push({ run: { ...run, status: 'interrupted' }, class: cls, previousStatus: run.status as InterruptedRun['previousStatus'] });
  }
  return out;
}
