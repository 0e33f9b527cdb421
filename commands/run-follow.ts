/**
 * A training run's life in the store and in its progress message, shared by /train (commands/train.ts, which then
 * posts the results and the automatic poll under its delivery claim) and by each /sweep value (which follows it
 * with followRun and posts one card for all its values, commands/sweep-card.ts): the run is marked running when
 * compute starts it, each step edits the progress message, and it ends done (with the engine's result), cancelled
 * or failed. The class's old run folders are pruned at the end.
 */
import type { TrainResult } from '../core/engine.ts';
import { isQuijoteError } from '../core/errors.ts';
import type { JobHandle } from '../core/jobs/types.ts';
import { runMetricsOf, type RunRow } from '../core/store/types.ts';
import { formatDuration } from './messages.ts';
import { createProgressReporter, renderProgress, type ProgressReporter } from './progress.ts';
import { errorDetail, placeLabel } from './respond.ts';
import { pruneClassRuns } from './runs-cleanup.ts';
import type { CommandContext, MessageHandle, Services } from './types.ts';

export interface TrackedRun {
  reporter: ProgressReporter;
  /** Resolves once the `running` mark is written: a run's end is written after its start (PostgreSQL: round trips). */
  started(): Promise<unknown>;
}

/** Marks the run running when compute starts it and shows each step (while `mayEdit()` says so) in its progress message. */
export function trackRun(ctx: CommandContext, run: RunRow, progressHandle: MessageHandle, job: JobHandle<'train'>, mayEdit: () => boolean = () => true): TrackedRun {
  const s = ctx.services;
  const { lines, epochs, lr } = run.params;
  const reporter = createProgressReporter({
    handle: progressHandle,
    clock: s.clock,
    intervalMs: s.config.progressIntervalMs,
    render: (p) => ({ text: renderProgress(s, { id: run.id, lines }, p) }),
    logger: s.logger,
  });
  let started: Promise<unknown> = Promise.resolve();
  job.onStarted(() => {
    started = s.store.markRunRunning(run.id).catch((e: unknown) => s.logger.error(`train #${run.id}: could not mark it running`, e));
    s.logger.info(`train #${run.id} started in ${placeLabel(ctx.place)}: ${lines} lines, ${epochs} epochs, lr ${lr}`);
  });
  job.onProgress((p) => { if (mayEdit()) reporter.update(p); });
  return { reporter, started: () => started };
}

/** A run that failed or was cancelled: stored, logged, said in its progress message; its partial folder goes. */
export async function endFailedRun(s: Services, run: RunRow, reporter: ProgressReporter, e: unknown): Promise<void> {
  const cancelled = isQuijoteError(e, 'CANCELLED');
  await s.store.endRun(run.id, cancelled ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
  if (cancelled) s.logger.info(`train #${run.id} cancelled`);
  else s.logger.error(`train #${run.id} failed`, e);
  await reporter.finish({
    text: cancelled ? s.t('train.progressCancelled', { run: run.id }) : s.t('train.progressFailed', { run: run.id, detail: errorDetail(s, e) }),
  });
  await pruneClassRuns(s, run.classId); // the active model stays
}

/** A finished run: stored with its metrics and curve, logged, old folders pruned, its progress message says done. */
export async function endDoneRun(s: Services, run: RunRow, reporter: ProgressReporter, result: TrainResult): Promise<RunRow> {
  const done = await s.store.completeRun(run.id, { metrics: runMetricsOf(result), lossCurve: result.lossCurve, modelDir: result.modelDir });
  s.logger.info(`train #${run.id} done: ppl ${result.perplexityBefore.toFixed(2)} → ${result.perplexityAfter.toFixed(2)}, ${result.modelDir}`);
  await pruneClassRuns(s, run.classId);
  await reporter.finish({
    text: s.t('train.progressDone', { run: run.id, lines: run.params.lines, steps: result.optimizerSteps, duration: formatDuration(result.seconds) }),
  });
  return done;
}

/** One /sweep value from queued to its end: the run done with the engine's result, or undefined (cancelled, failed). */
export async function followRun(ctx: CommandContext, run: RunRow, progressHandle: MessageHandle, job: JobHandle<'train'>): Promise<{ run: RunRow; result: TrainResult } | undefined> {
  const s = ctx.services;
  const { reporter, started } = trackRun(ctx, run, progressHandle, job);
  let result: TrainResult;
  try {
    result = await job.result;
  } catch (e) {
    await started();
    await endFailedRun(s, run, reporter, e);
    return undefined;
  }
  await started();
  return { run: await endDoneRun(s, run, reporter, result), result };
}
