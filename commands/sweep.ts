/**
 * /sweep lines:50,200,500 (or epochs:… / lr:…) — teachers only. One training per value, with the same seed and the
 * other settings fixed, one after another: each run is queued only when the previous one ended, so the store's
 * "one active run per class" holds and other classes' trainings take their turn between the values; the class's
 * stories still run between the steps (the compute process's fair GPU queue). Each run shows its progress and,
 * once done, opens a blind poll (commands/poll.ts) on the sweep's prompt, generated while the next value trains.
 * At the end one card compares them (commands/sweep-card.ts). /cancel by a teacher stops the running value and
 * the rest; the card then comes with the values that finished.
 */
import { isQuijoteError } from '../core/errors.ts';
import { runModelDir } from '../core/store/paths.ts';
import type { PollRow, RunRow, SweepRow } from '../core/store/types.ts';
import { t as translate } from './messages.ts';
import { createBlindPoll } from './poll.ts';
import { errorDetail, positionText, replyFailure, requireTeacher, stringOption } from './respond.ts';
import { postSweepCard, type SweepValueOutcome } from './sweep-card.ts';
import { activeSweep, claimSweep, releaseSweep, type ActiveSweep } from './sweep-state.ts';
import { fixedText, readSweepPlan, valuesText, valueText } from './sweep-values.ts';
import { MAX_PROMPT_CHARS } from './story.ts';
import { sanitizeText } from './text-safety.ts';
import { followRun } from './run-follow.ts';
import type { Command, CommandContext, MessageHandle } from './types.ts';

export const sweep: Command = {
  name: 'sweep',
  description: translate('es', 'cmd.sweep.description'),
  teacherOnly: true,
  options: [
    { name: 'lines', description: translate('es', 'cmd.sweep.opt.lines'), type: 'string' },
    { name: 'epochs', description: translate('es', 'cmd.sweep.opt.epochs'), type: 'string' },
    { name: 'lr', description: translate('es', 'cmd.sweep.opt.lr'), type: 'string' },
    { name: 'prompt', description: translate('es', 'cmd.sweep.opt.prompt'), type: 'string' },
  ],
  async run(ctx) {
    if (!(await requireTeacher(ctx, 'sweep'))) return;
    await ctx.defer({ ephemeral: true });
    try {
      await startSweep(ctx);
    } catch (e) {
      await replyFailure(ctx, 'sweep', e);
    }
  },
};

async function startSweep(ctx: CommandContext): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const plan = await readSweepPlan(ctx);
  if (!plan.ok) {
    await ctx.reply({ text: plan.text, ephemeral: true });
    return;
  }
  const raw = stringOption(ctx, 'prompt');
  const prompt = raw === '' ? s.config.defaultPrompt : sanitizeText(raw).text;
  if (prompt.length === 0 || prompt.length > MAX_PROMPT_CHARS) {
    await ctx.reply({ text: t('sweep.badPrompt', { max: MAX_PROMPT_CHARS }), ephemeral: true });
    return;
  }
  const cls = await s.store.ensureClass(ctx.place);
  const claim = claimSweep(s, cls.id);
  if (!claim) {
    await ctx.reply({ text: t('sweep.already', { sweep: activeSweep(s, cls.id)?.sweepId ?? '?' }), ephemeral: true });
    return;
  }
  let row: SweepRow;
  try {
    const busy = (await s.store.activeRuns(cls.id))[0];
    if (busy) {
      releaseSweep(s, cls.id, claim);
      await ctx.reply({ text: t('train.busy', { run: busy.id }), ephemeral: true });
      return;
    }
    row = await s.store.createSweep({ classId: cls.id, axis: plan.axis, values: plan.values, params: plan.params, prompt, teacherId: ctx.user.id });
  } catch (e) {
    releaseSweep(s, cls.id, claim);
    throw e;
  }
  claim.sweepId = row.id;
  s.logger.info(`sweep #${row.id} by ${ctx.user.id}: ${plan.axis} ${plan.values.join(', ')}`);
  const first = superviseSweep(ctx, row, claim);
  first.done.catch((e: unknown) => s.logger.error(`sweep #${row.id}: supervising it failed`, e)).finally(() => releaseSweep(s, cls.id, claim));
  const position = await first.firstJob.then((id) => (id ? positionText(s, id) : ''), () => '');
  await ctx.reply({
    text: t('sweep.accepted', { sweep: row.id, count: row.values.length, values: valuesText(s, row), fixed: fixedText(s, row), position }),
    ephemeral: true,
  });
}

/**
 * Runs the values one after another and posts the card. `firstJob` resolves with the first training's job id
 * as soon as it is queued (for the teacher's "accepted" answer with its queue position).
 */
function superviseSweep(ctx: CommandContext, sw: SweepRow, claim: ActiveSweep): { done: Promise<void>; firstJob: Promise<string | undefined> } {
  let announce!: (id: string | undefined) => void;
  const firstJob = new Promise<string | undefined>((resolve) => { announce = resolve; });
  const s = ctx.services;
  const done = (async () => {
    const t = s.t;
    await ctx.post({ text: t('sweep.started', { sweep: sw.id, values: valuesText(s, sw), fixed: fixedText(s, sw), prompt: sw.prompt }) }).catch((e: unknown) => s.logger.warn(`sweep #${sw.id}: ${String(e)}`));
    const finished: Array<Promise<SweepValueOutcome>> = [];
    let stop: 'cancelled' | 'failed' | undefined;
    for (const [index, value] of sw.values.entries()) {
      if (claim.stopRequested) { stop = 'cancelled'; break; }
      const params = { ...sw.params, [sw.axis]: value };
      let run: RunRow;
      try {
        run = await s.store.createRun({ classId: sw.classId, params, teacherId: sw.teacherId, sweepId: sw.id });
      } catch (e) {
        if (!isQuijoteError(e, 'BUSY')) throw e;
        await ctx.post({ text: t('sweep.busyStop', { sweep: sw.id }) }).catch(() => undefined);
        stop = 'failed';
        break;
      }
      const label = valueText(s, sw.axis, value);
      let progress: MessageHandle;
      try {
        progress = await ctx.post({ text: t('sweep.waiting', { sweep: sw.id, index: index + 1, count: sw.values.length, run: run.id, value: label }) });
      } catch (e) {
        await s.store.endRun(run.id, 'failed', 'could not post the progress message');
        throw e;
      }
      const job = s.compute.submit({
        kind: 'train',
        params: { lines: params.lines, epochs: params.epochs, lr: params.lr, seed: params.seed ?? s.config.ml.seed, outDir: runModelDir(s.config.dataDir, ctx.place, run.id) },
        place: ctx.place,
        owner: { id: sw.teacherId, name: ctx.user.displayName },
        label: t('sweep.label', { sweep: sw.id, value: label }),
      });
      if (index === 0) announce(job.info.id);
      const outcome = await followRun(ctx, run, progress, job);
      if (!outcome) {
        stop = (await s.store.getRun(run.id))?.status === 'cancelled' || claim.stopRequested ? 'cancelled' : 'failed';
        break;
      }
      // the poll's stories are written between the next value's training steps
      finished.push(openSweepPoll(ctx, sw, outcome.run, index).then((poll) => ({ run: outcome.run, index, poll })));
    }
    announce(undefined);
    const outcomes = await Promise.all(finished);
    const status = stop ?? (claim.stopRequested ? 'cancelled' : 'done');
    const ended = await s.store.endSweep(sw.id, status);
    s.logger.info(`sweep #${sw.id} ${status}: ${outcomes.length} of ${sw.values.length} values trained`);
    if (outcomes.length === 0) {
      await ctx.post({ text: t('sweep.stopped', { sweep: sw.id, done: 0, count: sw.values.length }) }).catch(() => undefined);
      return;
    }
    await postSweepCard(ctx, ended, outcomes);
  })();
  const guarded = done.catch(async (e: unknown) => {
    announce(undefined);
    await s.store.endSweep(sw.id, 'failed', e instanceof Error ? e.message : String(e));
    throw e;
  });
  return { done: guarded, firstJob };
}

/** The value's blind poll on the sweep's prompt, and a line saying which value it is; failures are said, not thrown. */
async function openSweepPoll(ctx: CommandContext, sw: SweepRow, run: RunRow, index: number): Promise<PollRow | undefined> {
  const s = ctx.services;
  const value = valueText(s, sw.axis, sw.values[index]!);
  try {
    const poll = await createBlindPoll(s, {
      place: ctx.place, classId: sw.classId, run, prompt: sw.prompt, ownerId: sw.teacherId, ownerName: ctx.user.displayName, post: (m) => ctx.post(m),
    });
    await ctx.post({ text: s.t('sweep.pollFor', { sweep: sw.id, index: index + 1, count: sw.values.length, poll: poll.id, value, run: run.id }) })
      .catch((e: unknown) => s.logger.warn(`sweep #${sw.id}: ${String(e)}`));
    return poll;
  } catch (e) {
    if (!isQuijoteError(e, 'CANCELLED')) s.logger.error(`sweep #${sw.id}: the poll of run #${run.id} failed`, e);
    await ctx.post({ text: s.t('sweep.pollFailed', { sweep: sw.id, value, detail: errorDetail(s, e) }) }).catch(() => undefined);
    return undefined;
  }
}
