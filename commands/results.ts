/**
 * /results — the class's polls so far. Revealed polls show the fine-tuned story's share of the votes; open polls
 * show only their vote count, so /results never breaks a poll's blindness.
 */
import { formatPercent, t as translate } from './messages.ts';
import { runsChartImage } from './results-chart.ts';
import { exportResults } from './results-export.ts';
import { clip, stringOption } from './respond.ts';
import { escapeMarkdown } from './text-safety.ts';
import type { Command } from './types.ts';

export const MAX_LISTED_POLLS = 15;

export const results: Command = {
  name: 'results',
  description: translate('es', 'cmd.results.description'),
  options: [
    { name: 'exportar', description: translate('es', 'cmd.results.opt.exportar'), type: 'string' },
    { name: 'ids', description: translate('es', 'cmd.results.opt.ids'), type: 'string' },
  ],
  async run(ctx) {
    const s = ctx.services;
    const t = s.t;
    if (stringOption(ctx, 'exportar') !== '' || stringOption(ctx, 'ids') !== '') {
      await exportResults(ctx);
      return;
    }
    const cls = await s.store.findClass(ctx.place);
    const polls = cls ? await s.store.listPolls(cls.id) : [];
    if (polls.length === 0) {
      await ctx.reply({ text: t('results.none') });
      return;
    }
    let closedPolls = 0;
    let tunedVotes = 0;
    let totalVotes = 0;
    const lines: string[] = [];
    for (const poll of polls) {
      const tally = await s.store.tally(poll.id);
      const prompt = clip(escapeMarkdown(poll.prompt), 60);
      if (poll.status === 'closed') {
        const tuned = tally[poll.finetunedChoice];
        closedPolls++;
        tunedVotes += tuned;
        totalVotes += tally.total;
        const share = tally.total > 0 ? formatPercent(s.locale, tuned / tally.total) : t('time.unknown');
        lines.push(t('results.closed', { poll: poll.id, prompt, finetuned: tuned, total: tally.total, share }));
      } else {
        lines.push(t('results.open', { poll: poll.id, prompt, total: tally.total }));
      }
    }
    const shown = lines.slice(-MAX_LISTED_POLLS);
    const summary =
      closedPolls === 0
        ? t('results.noClosed')
        : t('results.summary', {
            share: totalVotes > 0 ? formatPercent(s.locale, tunedVotes / totalVotes) : t('time.unknown'),
            finetuned: tunedVotes,
            total: totalVotes,
            polls: closedPolls,
          });
    const image = await runsChartImage(s, cls!.id).catch((e: unknown) => void s.logger.error('/results: could not draw the chart', e));
    await ctx.reply({ text: [t('results.header'), ...shown.map((l) => `• ${l}`), summary].join('\n'), ...(image ? { image } : {}) });
  },
};
