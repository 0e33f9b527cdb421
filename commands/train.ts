/**
 * /train lines:<n> [epochs] [lr] — teachers only. Fine-tunes the class's model in the background: one progress
 * message in the channel (throttled edits), then the eval metrics, the loss curve and an automatic blind poll.
 */
import type { TrainResult } from '../core/engine.ts';
import type { JobHandle } from '../core/jobs/types.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { runModelDir } from '../core/store/paths.ts';
import type { RunParams, RunRow } from '../core/store/types.ts';
import { formatNumber, t as translate } from './messages.ts';
import { postTrainMeter } from './meter.ts';
import { createBlindPoll } from './poll.ts';
import { endDoneRun, endFailedRun, trackRun } from './run-follow.ts';
import { errorDetail, numberOption, positionText, replyFailure, requireTeacher, stringOption } from './respond.ts';
import { parseRunRef, runSettingsText } from './run-settings.ts';
import { trackDelivery, type DeliveryClaim } from './delivery.ts';
import { chooseTeacherText, mixNote, storedTeacherLines, teacherResultsText } from './train-text.ts';
import { textSourceOf } from './teacher-text.ts';
import type { Command, CommandContext, MessageHandle, OutgoingMessage, Place, Services } from './types.ts';
import { storeTeacherText } from '../core/text/teacher-store.ts';
import { activeSweep } from './sweep-state.ts';

export const MAX_EPOCHS = 20;
export const MAX_LR = 0.1;

export const train: Command = {
  name: 'train',
  description: translate('es', 'cmd.train.description'),
  teacherOnly: true,
  options: [
    { name: 'lines', description: translate('es', 'cmd.train.opt.lines'), type: 'integer', min: 1 },
    { name: 'epochs', description: translate('es', 'cmd.train.opt.epochs'), type: 'integer', min: 1, max: MAX_EPOCHS },
    { name: 'lr', description: translate('es', 'cmd.train.opt.lr'), type: 'number' },
    { name: 'repetir', description: translate('es', 'cmd.train.opt.repetir'), type: 'string' },
    { name: 'archivo', description: translate('es', 'cmd.train.opt.archivo'), type: 'attachment' },
    { name: 'texto', description: translate('es', 'cmd.train.opt.texto'), type: 'string', acceptsFileLink: true },
    { name: 'mezcla', description: translate('es', 'cmd.train.opt.mezcla'), type: 'integer', min: 0, max: 100 },
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
  const chosen = ctx.options.repetir !== undefined && stringOption(ctx, 'repetir') !== '' ? await repeatedParams(ctx) : await chosenParams(ctx);
  if (!chosen) return;
  const { params, text } = chosen;
  const { lines, epochs, lr } = params;
  const t = s.t;
  const cls = await s.store.ensureClass(ctx.place);
  const sweeping = activeSweep(s, cls.id); // a sweep's values run one after another: nothing in between
  if (sweeping) {
    await ctx.reply({ text: t('sweep.trainBusy', { sweep: sweeping.sweepId }), ephemeral: true });
    return;
  }
  const busy = (await s.store.activeRuns(cls.id))[0];
  if (busy) {
    await ctx.reply({ text: t('train.busy', { run: busy.id }), ephemeral: true });
    return;
  }
  if (text?.store) storeTeacherText(s.config.dataDir, ctx.place, text.lines); // only a text that a run will use
  const run = await s.store.createRun({ classId: cls.id, params, teacherId: ctx.user.id });
  let progress: MessageHandle;
  try {
    progress = await ctx.post({ text: t('train.waiting', { run: run.id, lines }) });
  } catch (e) {
    await s.store.endRun(run.id, 'failed', 'could not post the progress message');
    throw e;
  }
  const job = s.compute.submit({
    kind: 'train',
    params: {
      lines, epochs, lr, seed: params.seed ?? s.config.ml.seed, outDir: runModelDir(s.config.dataDir, ctx.place, run.id),
      ...(params.text && text ? { text: { hash: params.text.hash, name: params.text.name, mix: params.text.mix, lines: text.lines } } : {}),
    },
    place: ctx.place,
    owner: { id: ctx.user.id, name: ctx.user.displayName },
    label: t('train.label', { lines }),
  });
  superviseRun(ctx, run, progress, job).catch((e: unknown) => s.logger.error(`train #${run.id}: supervising the run failed`, e));
  await ctx.reply({
    text: t('train.queued', { run: run.id, lines, epochs, lr: formatNumber(s.locale, lr, 6), position: await positionText(s, job.info.id) }) + (text ? `\n${text.note}` : ''),
    ephemeral: true,
  });
}

/** A run's settings and, with a teacher's text, its checked lines (stored when the run is created). */
export interface ChosenRun {
  params: RunParams;
  text?: { lines: string[]; note: string; store: boolean };
}

/** The teacher's own settings, checked (undefined once the refusal is said). */
async function chosenParams(ctx: CommandContext): Promise<ChosenRun | undefined> {
  const s = ctx.services;
  const t = s.t;
  const max = await s.text.maxLines();
  const lines = numberOption(ctx, 'lines');
  const source = textSourceOf(ctx, { file: 'archivo', url: 'texto' });
  if (!source && numberOption(ctx, 'mezcla') !== undefined) {
    await ctx.reply({ text: t('train.mixWithoutText'), ephemeral: true });
    return undefined;
  }
  if (lines === undefined || !Number.isInteger(lines) || lines < 1 || (!source && lines > max)) {
    await ctx.reply({ text: t('train.badLines', { max }), ephemeral: true });
    return undefined;
  }
  const epochs = numberOption(ctx, 'epochs') ?? s.config.ml.epochs;
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > MAX_EPOCHS) {
    await ctx.reply({ text: t('train.badEpochs', { max: MAX_EPOCHS }), ephemeral: true });
    return undefined;
  }
  const lr = numberOption(ctx, 'lr') ?? s.config.ml.lr;
  if (!Number.isFinite(lr) || lr <= 0 || lr >= MAX_LR) {
    await ctx.reply({ text: t('train.badLr', { max: formatNumber(s.locale, MAX_LR, 4) }), ephemeral: true });
    return undefined;
  }
  const params: RunParams = { lines, epochs, lr, seed: s.config.ml.seed };
  if (!source) return { params };
  const text = await chooseTeacherText(ctx, source, { lines, quijoteMax: max });
  return text && { params: { ...params, text: text.run }, text: { lines: text.lines, note: text.note, store: true } };
}

/** `/train repetir:#id`: exactly the settings (and seed) of an earlier run of this class. */
async function repeatedParams(ctx: CommandContext): Promise<ChosenRun | undefined> {
  const s = ctx.services;
  const id = parseRunRef(ctx.options.repetir);
  const cls = await s.store.findClass(ctx.place);
  const earlier = id === undefined || !cls ? undefined : await s.store.getRun(id);
  if (!earlier || !cls || earlier.classId !== cls.id) {
    await ctx.reply({ text: s.t('train.repeatNotFound', { run: String(ctx.options.repetir) }), ephemeral: true });
    return undefined;
  }
  if (['lines', 'epochs', 'lr', 'mezcla'].some((k) => numberOption(ctx, k) !== undefined) || textSourceOf(ctx, { file: 'archivo', url: 'texto' })) {
    await ctx.reply({ text: s.t('train.repeatAlone', { run: earlier.id }), ephemeral: true });
    return undefined;
  }
  const params = structuredClone({ ...earlier.params, seed: earlier.params.seed ?? s.config.ml.seed });
  if (!params.text) return { params };
  const lines = storedTeacherLines(s, ctx.place, params.text);
  if (!lines) {
    await ctx.reply({ text: s.t('train.repeatTextMissing', { run: earlier.id, file: params.text.name }), ephemeral: true });
    return undefined;
  }
  return { params, text: { lines, note: mixNote(s, params.text, params.lines), store: false } };
}

/**
 * Where a run's end is posted: the channel of the /train interaction, or (a front-end taking over the delivery
 * of another one's run, commands/train-delivery.ts) the class channel through the platform.
 */
export interface RunChannel {
  place: Place;
  services: Services;
  post(message: OutgoingMessage): Promise<MessageHandle>;
  /** The teacher's display name, when known (the poll's story job is labelled with it). */
  ownerName?: string;
}

/**
 * The run's one owner, from queued to its end: marks it running when compute starts it, edits the progress
 * message, and ends it in exactly one place — done (results, loss curve, automatic poll), cancelled or failed.
 * The end is posted only under the run's delivery claim (commands/delivery.ts): if this front-end was too slow or
 * lost the claim, the front-end that took it over posts it, never both.
 */
async function superviseRun(ctx: CommandContext, run: RunRow, progressHandle: MessageHandle, job: JobHandle<'train'>): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const { lines } = run.params;
  const ch: RunChannel = { place: ctx.place, services: s, post: (m) => ctx.post(m), ownerName: ctx.user.displayName };
  const delivery = trackDelivery(s, run.id, job.info.id, progressHandle.id);
  // The claim is taken now and renewed for the whole run: its holder edits the progress message and posts the end.
  // If this front-end dies, another one takes both over (bot/district-loop.ts); if it lost the claim, it stops.
  let holding: DeliveryClaim | undefined;
  let mayEdit = true;
  delivery.claim().then((c) => { holding = c; mayEdit = c !== undefined; }, () => undefined);
  const { reporter, started } = trackRun(ctx, run, progressHandle, job, () => mayEdit && holding?.held !== false);
  // The class votes while the evaluation after training runs: the poll opens as soon as the model is saved.
  let early: Promise<MessageHandle | undefined> | undefined;
  job.onSaved(({ modelDir }) => {
    early ??= (async () => {
      const claim = await delivery.claim();
      if (!claim?.held) return undefined;
      const results = await ctx
        .post({ text: run.params.text ? t('train.savedText', { lines, file: run.params.text.name }) : t('train.saved', { lines }), mentionUserId: run.teacherId })
        .catch((e: unknown) => void s.logger.error(`train #${run.id}: could not post the results`, e));
      if (results) await claim.record({ resultsMessageId: results.id });
      await openPoll(ch, { ...run, modelDir }, claim);
      return results ?? undefined;
    })();
  });

  let result: TrainResult;
  try {
    result = await job.result;
  } catch (e) {
    await started();
    const claim = await delivery.claim();
    if (!claim?.held) return void s.logger.info(`train #${run.id}: its end is delivered by another front-end`);
    await endFailedRun(s, run, reporter, e);
    await claim.finish();
    return;
  }

  await started();
  const claim = await delivery.claim();
  if (!claim?.held) return void s.logger.info(`train #${run.id}: its results are delivered by another front-end`);
  const done = await endDoneRun(s, run, reporter, result);
  if (early) {
    await announceResults(ch, done, result, await early, claim); // the perplexity line follows in an edit
  } else {
    await announceResults(ch, done, result, undefined, claim);
    await openPoll(ch, done, claim);
  }
  await claim.finish();
}

/**
 * The automatic blind poll with the default prompt, once per run (the claim records it); a failure is said in the
 * channel, not thrown.
 */
export async function openPoll(ctx: RunChannel, run: RunRow, claim: DeliveryClaim): Promise<void> {
  const s = ctx.services;
  if (!claim.held || claim.state.pollId !== null) return;
  try {
    const poll = await createBlindPoll(s, {
      place: ctx.place,
      classId: run.classId,
      run,
      prompt: s.config.defaultPrompt,
      ownerId: run.teacherId,
      ownerName: ctx.ownerName,
      post: async (m) => {
        if (!claim.held) throw new Error(`another front-end took over the delivery of run ${run.id}`);
        return ctx.post(m);
      },
    });
    await claim.record({ pollId: poll.id });
    await postTrainMeter(s, poll, run, (text) => ctx.post({ text })).catch((e: unknown) => s.logger.warn(`train #${run.id}: memorization meter: ${String(e)}`));
  } catch (e) {
    s.logger.error(`train #${run.id}: automatic poll failed`, e);
    await ctx.post({ text: s.t('train.pollFailed', { detail: errorDetail(s, e) }) }).catch(() => undefined);
  }
}

/** The metrics and the loss curve: a new message, or an edit of the one posted when the model was saved. */
export async function announceResults(ctx: RunChannel, run: RunRow, result: TrainResult, saved: MessageHandle | undefined, claim: DeliveryClaim): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const f = (n: number) => formatNumber(s.locale, n, 3);
  const text = (teacherResultsText(s, run, result) ?? t('train.done', {
    lines: run.params.lines,
    lossBefore: f(result.evalLossBefore),
    lossAfter: f(result.evalLossAfter),
    pplBefore: formatNumber(s.locale, result.perplexityBefore, 2),
    pplAfter: formatNumber(s.locale, result.perplexityAfter, 2),
  })) + `\n${t('train.settings', { run: run.id, settings: runSettingsText(s, run) })}`;
  let image: { filename: string; data: Buffer; alt: string } | undefined;
  try {
    const curve = result.lossCurve;
    image = {
      filename: t('chart.filename', { run: run.id }),
      data: await renderOffThread('lossCurve', curve, {
        title: t('train.curveTitle', { run: run.id }),
        labels: { step: t('chart.step'), loss: t('chart.loss'), train: t('chart.train'), evalBefore: t('chart.evalBefore'), evalAfter: t('chart.evalAfter'), noData: t('chart.noData') },
        locale: s.locale,
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
    const message = { text, image, mentionUserId: run.teacherId };
    if (!claim.held) return;
    if (saved) await saved.edit(message);
    else await claim.record({ resultsMessageId: (await ctx.post(message)).id });
  } catch (e) {
    s.logger.error(`train #${run.id}: could not post the results`, e);
  }
}
