/**
 * One /sweep value's training from queued to its end, in the store and in its progress message: marks the run
 * running when compute starts it, shows each step (the same progress message as /train), and records it done
 * (returned with the engine's result), cancelled or failed (undefined; the progress message says which). The
 * class's old run folders are pruned. /train's own supervisor (commands/train.ts) does the same and then posts the
 * results and the automatic poll; a sweep posts one card for all its values instead (commands/sweep-card.ts).
 */
import type { TrainResult } from '../core/engine.ts';
import { isQuijoteError } from '../core/errors.ts';
import type { JobHandle } from '../core/jobs/types.ts';
import { runMetricsOf, type RunRow } from '../core/store/types.ts';
import { formatDuration } from './messages.ts';
import { createProgressReporter, renderProgress } from './progress.ts';
import { errorDetail, placeLabel } from './respond.ts';
import { pruneClassRuns } from './runs-cleanup.ts';
import type { CommandContext, MessageHandle } from './types.ts';

export async function followRun(ctx: CommandContext, run: RunRow, progressHandle: MessageHandle, job: JobHandle<'train'>): Promise<{ run: RunRow; result: TrainResult } | undefined> {
  const s = ctx.services;
  const t = s.t;
  const { lines, epochs, lr } = run.params;
  const reporter = createProgressReporter({
    handle: progressHandle,
    clock: s.clock,
    intervalMs: s.config.progressIntervalMs,
    render: (p) => ({ text: renderProgress(s, { id: run.id, lines }, p) }),
    logger: s.logger,
  });
  let started: Promise<unknown> = Promise.resolve(); // its end is written after its start (PostgreSQL: round trips)
  job.onStarted(() => {
    started = Promise.resolve(s.store.markRunRunning(run.id)).catch((e: unknown) => s.logger.error(`train #${run.id}: could not mark it running`, e));
    s.logger.info(`train #${run.id} started in ${placeLabel(ctx.place)}: ${lines} lines, ${epochs} epochs, lr ${lr}`);
  });
  job.onProgress((p) => reporter.update(p));

  let result: TrainResult;
  try {
    result = await job.result;
  } catch (e) {
    const cancelled = isQuijoteError(e, 'CANCELLED');
    await started;
    await s.store.endRun(run.id, cancelled ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
    if (cancelled) s.logger.info(`train #${run.id} cancelled`);
    else s.logger.error(`train #${run.id} failed`, e);
    await reporter.finish({
      text: cancelled ? t('train.progressCancelled', { run: run.id }) : t('train.progressFailed', { run: run.id, detail: errorDetail(s, e) }),
    });
    await pruneClassRuns(s, run.classId); // a failed run's partial folder goes; the active model stays
    return undefined;
  }

  await started;
  const done = await s.store.completeRun(run.id, { metrics: runMetricsOf(result), lossCurve: result.lossCurve, modelDir: result.modelDir });
  s.logger.info(`train #${run.id} done: ppl ${result.perplexityBefore.toFixed(2)} → ${result.perplexityAfter.toFixed(2)}, ${result.modelDir}`);
  await pruneClassRuns(s, run.classId);
  await reporter.finish({
    text: t('train.progressDone', { run: run.id, lines, steps: result.optimizerSteps, duration: formatDuration(result.seconds) }),
  });
  return { run: done, result };
}
