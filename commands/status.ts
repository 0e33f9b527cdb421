/** /status — the GPU queue (waiting jobs, what runs now) and this class's model. */
import { formatDate, formatNumber, t as translate } from './messages.ts';
import { jobLine } from './respond.ts';
import type { Command } from './types.ts';

export const status: Command = {
  name: 'status',
  description: translate('es', 'cmd.status.description'),
  options: [],
  async run(ctx) {
    const s = ctx.services;
    const t = s.t;
    const running = (await s.compute.active()).filter((j) => j.status === 'running');
    const lines = [
      t('status.queue', { queued: await s.compute.queuedCount() }),
      running.length > 0 ? t('status.running', { jobs: running.map((j) => jobLine(s, j)).join('; ') }) : t('status.idle'),
    ];
    const cls = await s.store.findClass(ctx.place);
    const run = cls ? await s.store.classModelRun(cls.id) : undefined;
    if (run && run.metrics) {
      lines.push(
        t('status.model', {
          lines: run.params.lines,
          epochs: run.params.epochs,
          date: formatDate(run.finishedAt ?? run.createdAt),
          pplBefore: formatNumber(s.locale, run.metrics.perplexityBefore, 2),
          pplAfter: formatNumber(s.locale, run.metrics.perplexityAfter, 2),
        }),
      );
    } else {
      lines.push(t('status.noModel'));
    }
    lines.push(t('status.engine', { engine: s.compute.describe() }));
    await ctx.reply({ text: lines.join('\n'), ephemeral: true });
  },
};
