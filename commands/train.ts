/**
 * /train lines:<n> [epochs] [lr] — teachers only. Fine-tunes the class's model in the background: one progress
 * message in the channel (throttled edits), then the eval metrics, the loss curve and an automatic blind poll.
 */
import type { GpuSlice, TrainResult } from '../core/engine.ts';
import { isQuijoteError } from '../core/errors.ts';
import type { Job } from '../core/jobs/types.ts';
import { renderLossCurve } from '../core/plot/loss-curve.ts';
import { runModelDir } from '../core/store/paths.ts';
import type { RunRow } from '../core/store/types.ts';
import { formatDuration, formatNumber, t as translate } from './messages.ts';
import { postTrainMeter } from './meter.ts';
import { createBlindPoll } from './poll.ts';
import { createProgressReporter, renderProgress } from './progress.ts';
import { errorDetail, numberOption, placeLabel, positionText, replyFailure, requireTeacher } from './respond.ts';
import type { Command, CommandContext, MessageHandle, Services } from './types.ts';

export const MAX_EPOCHS = 20;
export const MAX_LR = 0.1;

export const train: Command = {
  name: 'train',
  description: translate('es', 'cmd.train.description'),
  teacherOnly: true,
  options: [
    { name: 'lines', description: translate('es', 'cmd.train.opt.lines'), type: 'integer', required: true, min: 1 },
    { name: 'epochs', description: translate('es', 'cmd.train.opt.epochs'), type: 'integer', min: 1, max: MAX_EPOCHS },
    { name: 'lr', description: translate('es', 'cmd.train.opt.lr'), type: 'number' },
  ],
  async run(ctx) {
    if (!(await requireTeacher(ctx, 'train'))) return;
    await ctx.defer({ ephemeral: true });
    try {
      await startTraining(ctx);
    } catch (e) {
      await replyFailure(ctx, 'train', e);
    }
  },
};

async function startTraining(ctx: CommandContext): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const max = await s.engine.maxLines();
  const lines = numberOption(ctx, 'lines');
  if (lines === undefined || !Number.isInteger(lines) || lines < 1 || lines > max) {
    await ctx.reply({ text: t('train.badLines', { max }), ephemeral: true });
    return;
  }
  const epochs = numberOption(ctx, 'epochs') ?? s.config.ml.epochs;
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > MAX_EPOCHS) {
    await ctx.reply({ text: t('train.badEpochs', { max: MAX_EPOCHS }), ephemeral: true });
    return;
  }
  const lr = numberOption(ctx, 'lr') ?? s.config.ml.lr;
  if (!Number.isFinite(lr) || lr <= 0 || lr >= MAX_LR) {
    await ctx.reply({ text: t('train.badLr', { max: formatNumber(s.locale, MAX_LR, 4) }), ephemeral: true });
    return;
  }

  const cls = s.store.ensureClass(ctx.place);
  const busy = s.store.activeRuns(cls.id)[0];
  if (busy) {
    await ctx.reply({ text: t('train.busy', { run: busy.id }), ephemeral: true });
    return;
  }
  const run = s.store.createRun({ classId: cls.id, params: { lines, epochs, lr, seed: s.config.ml.seed }, teacherId: ctx.user.id });
  let progress: MessageHandle;
  try {
    progress = await ctx.post({ text: t('train.waiting', { run: run.id, lines }) });
  } catch (e) {
    s.store.endRun(run.id, 'failed', 'could not post the progress message');
    throw e;
  }

  let started = false;
  const job = s.jobs.submit({
    kind: 'train',
    ownerId: ctx.user.id,
    ownerName: ctx.user.displayName,
    place: ctx.place,
    label: t('train.label', { lines }),
    run: async (jc) => {
      started = true;
      return executeTraining(ctx, run, progress, jc);
    },
  });
  watchUnstarted(s, job, run, progress, () => started);
  await ctx.reply({
    text: t('train.queued', { run: run.id, lines, epochs, lr: formatNumber(s.locale, lr, 6), position: positionText(s, job.info.id) }),
    ephemeral: true,
  });
}

/** A job cancelled (or failed) before it started never ran executeTraining: close its run here. */
function watchUnstarted(s: Services, job: Job<unknown>, run: RunRow, progress: MessageHandle, started: () => boolean): void {
  job.result.catch(async (e: unknown) => {
    if (started()) return;
    const cancelled = isQuijoteError(e, 'CANCELLED');
    s.store.endRun(run.id, cancelled ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
    const text = cancelled
      ? s.t('train.progressCancelled', { run: run.id })
      : s.t('train.progressFailed', { run: run.id, detail: errorDetail(s, e) });
    await progress.edit({ text }).catch((err: unknown) => s.logger.warn(`train #${run.id}: could not edit progress: ${String(err)}`));
  });
}

async function executeTraining(
  ctx: CommandContext,
  run: RunRow,
  progressHandle: MessageHandle,
  jc: { signal: AbortSignal; slice: GpuSlice },
): Promise<TrainResult> {
  const s = ctx.services;
  const t = s.t;
  const { lines, epochs, lr, seed } = run.params;
  s.store.markRunRunning(run.id);
  s.logger.info(`train #${run.id} started in ${placeLabel(ctx.place)}: ${lines} lines, ${epochs} epochs, lr ${lr}`);
  const reporter = createProgressReporter({
    handle: progressHandle,
    clock: s.clock,
    intervalMs: s.config.progressIntervalMs,
    render: (p) => ({ text: renderProgress(s, { id: run.id, lines }, p) }),
    logger: s.logger,
  });

  let result: TrainResult;
  try {
    const outDir = runModelDir(s.config.dataDir, ctx.place, run.id);
    result = await s.engine.train({ lines, epochs, lr, seed }, outDir, {
      onProgress: (p) => reporter.update(p),
      signal: jc.signal,
      slice: jc.slice,
    });
  } catch (e) {
    const cancelled = isQuijoteError(e, 'CANCELLED') || jc.signal.aborted;
    s.store.endRun(run.id, cancelled ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
    if (cancelled) s.logger.info(`train #${run.id} cancelled`);
    else s.logger.error(`train #${run.id} failed`, e);
    await reporter.finish({
      text: cancelled ? t('train.progressCancelled', { run: run.id }) : t('train.progressFailed', { run: run.id, detail: errorDetail(s, e) }),
    });
    throw e;
  }

  const done = s.store.completeRun(run.id, {
    metrics: {
      method: result.method,
      evalLossBefore: result.evalLossBefore,
      evalLossAfter: result.evalLossAfter,
      perplexityBefore: result.perplexityBefore,
      perplexityAfter: result.perplexityAfter,
      optimizerSteps: result.optimizerSteps,
      seconds: result.seconds,
    },
    lossCurve: result.lossCurve,
    modelDir: result.modelDir,
  });
  s.logger.info(`train #${run.id} done: ppl ${result.perplexityBefore.toFixed(2)} → ${result.perplexityAfter.toFixed(2)}, ${result.modelDir}`);
  await reporter.finish({
    text: t('train.progressDone', { run: run.id, lines, steps: result.optimizerSteps, duration: formatDuration(result.seconds) }),
  });
  await announceResults(ctx, done, result);
  try {
    const poll = await createBlindPoll(s, {
      place: ctx.place,
      classId: run.classId,
      run: done,
      prompt: s.config.defaultPrompt,
      ownerId: run.teacherId,
      ownerName: ctx.user.displayName,
      post: (m) => ctx.post(m),
    });
    await postTrainMeter(s, poll, lines, (text) => ctx.post({ text })).catch((e: unknown) => s.logger.warn(`train #${run.id}: memorization meter: ${String(e)}`));
  } catch (e) {
    s.logger.error(`train #${run.id}: automatic poll failed`, e);
    await ctx.post({ text: t('train.pollFailed', { detail: errorDetail(s, e) }) }).catch(() => undefined);
  }
  return result;
}

async function announceResults(ctx: CommandContext, run: RunRow, result: TrainResult): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const f = (n: number) => formatNumber(s.locale, n, 3);
  const text = t('train.done', {
    lines: run.params.lines,
    lossBefore: f(result.evalLossBefore),
    lossAfter: f(result.evalLossAfter),
    pplBefore: formatNumber(s.locale, result.perplexityBefore, 2),
    pplAfter: formatNumber(s.locale, result.perplexityAfter, 2),
  });
  let image: { filename: string; data: Buffer; alt: string } | undefined;
  try {
    const curve = result.lossCurve;
    image = {
      filename: `curva-perdida-${run.id}.png`,
      data: renderLossCurve(curve, {
        title: t('train.curveTitle', { run: run.id }),
        evalBefore: result.evalLossBefore,
        evalAfter: result.evalLossAfter,
      }),
      alt: t('train.curveAlt', {
        run: run.id,
        first: curve.length > 0 ? f(curve[0].loss) : '—',
        last: curve.length > 0 ? f(curve[curve.length - 1].loss) : '—',
      }),
    };
  } catch (e) {
    s.logger.error(`train #${run.id}: could not draw the loss curve`, e);
  }
  try {
    await ctx.post({ text, image, mentionUserId: run.teacherId });
  } catch (e) {
    s.logger.error(`train #${run.id}: could not post the results`, e);
  }
}
