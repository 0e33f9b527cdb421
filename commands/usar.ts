/**
 * /usar run:#id — teachers only. The class model becomes that finished run of this class (for example the value
 * of a /sweep that won the votes): /story, /score, /status and the model views use it from now on, until the
 * teacher chooses again or a later /train finishes (core/store/class-model.ts).
 */
import { existsSync } from 'node:fs';
import { formatNumber, t as translate } from './messages.ts';
import { requireTeacher } from './respond.ts';
import { parseRunRef, runSettingsText } from './run-settings.ts';
import { activeSweep } from './sweep-state.ts';
import type { Command } from './types.ts';

export const usar: Command = {
  name: 'usar',
  description: translate('es', 'cmd.usar.description'),
  teacherOnly: true,
  options: [{ name: 'run', description: translate('es', 'cmd.usar.opt.run'), type: 'string', required: true }],
  async run(ctx) {
    if (!(await requireTeacher(ctx, 'usar'))) return;
    const s = ctx.services;
    const t = s.t;
    const id = parseRunRef(ctx.options.run);
    const cls = await s.store.findClass(ctx.place);
    const run = id === undefined || !cls ? undefined : await s.store.getRun(id);
    if (!cls || !run || run.classId !== cls.id) {
      await ctx.reply({ text: t('usar.notFound', { run: String(ctx.options.run ?? '') }), ephemeral: true });
      return;
    }
    const sweeping = activeSweep(s, cls.id);
    if (sweeping) {
      await ctx.reply({ text: t('usar.sweepBusy', { sweep: sweeping.sweepId }), ephemeral: true });
      return;
    }
    if (run.status !== 'done') {
      await ctx.reply({ text: t('usar.notDone', { run: run.id, status: t(`run.status.${run.status}`) }), ephemeral: true });
      return;
    }
    // a local folder pruned by KEEP_RUNS is gone; a model store URI (district) is the store's to check
    if (!run.modelDir || (!run.modelDir.includes('://') && !existsSync(run.modelDir))) {
      await ctx.reply({ text: t('usar.gone', { run: run.id, keep: s.config.keepRuns }), ephemeral: true });
      return;
    }
    if ((await s.store.classModelRun(cls.id))?.id === run.id) {
      await ctx.reply({ text: t('usar.already', { run: run.id }), ephemeral: true });
      return;
    }
    await s.store.chooseClassModel(cls.id, run.id);
    s.logger.info(`usar: class ${cls.id} now uses run #${run.id} (by ${ctx.user.id})`);
    const ppl = run.metrics ? formatNumber(s.locale, run.metrics.perplexityAfter, 2) : '—';
    await ctx.reply({ text: t('usar.done', { run: run.id, settings: runSettingsText(s, run), ppl }) });
  },
};
