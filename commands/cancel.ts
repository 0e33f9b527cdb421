/**
 * /cancel — the caller's queued or running jobs in this class; a teacher cancels every job of the class.
 * Queued jobs leave the queue at once; a running training stops at its next optimizer step. A teacher's /cancel
 * also stops the class's /sweep (the running value and the ones still to come).
 */
import { t as translate } from './messages.ts';
import { jobLine, samePlace } from './respond.ts';
import { requestSweepStop } from './sweep-state.ts';
import type { Command } from './types.ts';

export const cancel: Command = {
  name: 'cancel',
  description: translate('es', 'cmd.cancel.description'),
  options: [],
  async run(ctx) {
    const s = ctx.services;
    const targets = (await s.compute.active()).filter((j) => samePlace(j.place, ctx.place) && (ctx.user.isTeacher || j.ownerId === ctx.user.id));
    // a teacher's /cancel also stops the class's /sweep: its remaining values never start
    const cls = ctx.user.isTeacher ? await s.store.findClass(ctx.place) : undefined;
    const sweep = cls ? requestSweepStop(s, cls.id) : undefined;
    const sweepNote = sweep ? [s.t('sweep.cancelled', { sweep: sweep.sweepId })] : [];
    if (targets.length === 0 && sweep) {
      await ctx.reply({ text: sweepNote.join('\n'), ephemeral: true });
      return;
    }
    if (targets.length === 0) {
      await ctx.reply({ text: s.t(ctx.user.isTeacher ? 'cancel.noneClass' : 'cancel.none'), ephemeral: true });
      return;
    }
    const wasRunning = targets.some((j) => j.status === 'running');
    const cancelled: typeof targets = [];
    for (const j of targets) if (await s.compute.cancel(j.id)) cancelled.push(j);
    s.logger.info(`cancel by ${ctx.user.id}: jobs ${cancelled.map((j) => j.id).join(', ')}`);
    const text = [s.t('cancel.done', { jobs: cancelled.map((j) => jobLine(s, j)).join('; ') })];
    if (wasRunning) text.push(s.t('cancel.runningNote'));
    text.push(...sweepNote);
    await ctx.reply({ text: text.join('\n'), ephemeral: true });
  },
};
