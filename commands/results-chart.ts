/**
 * The /results chart across runs: per finished run (the last 8), the share of revealed votes that picked out
 * its fine-tuned story, with chance at 50 % and the run's eval perplexity under its bar.
 */
import type { RunBar } from '../core/plot/runs-chart.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { formatNumber, formatPercent } from './messages.ts';
import type { OutgoingMessage, Services } from './types.ts';

export const MAX_CHART_RUNS = 8;

/** The bars, from the store: only revealed polls count, so the chart never breaks a poll's blindness. */
export async function runBars(services: Services, classId: number): Promise<Array<RunBar & { runId: number }>> {
  const s = services;
  const polls = (await s.store.listPolls(classId)).filter((p) => p.status === 'closed');
  const runs = (await s.store.listRuns(classId)).filter((r) => r.status === 'done').slice(-MAX_CHART_RUNS);
  const bars: Array<RunBar & { runId: number }> = [];
  for (const run of runs) {
    let tuned = 0;
    let total = 0;
    for (const p of polls.filter((x) => x.runId === run.id)) {
      const tally = await s.store.tally(p.id);
      tuned += tally[p.finetunedChoice];
      total += tally.total;
    }
    bars.push({
      runId: run.id,
      label: s.t('resultsChart.label', { run: run.id, lines: run.params.lines }),
      detected: total > 0 ? tuned / total : null,
      votes: total,
      perplexity: run.metrics?.perplexityAfter ?? null,
    });
  }
  return bars;
}

/** The chart as a message image, or undefined when the class has no finished run. */
export async function runsChartImage(services: Services, classId: number): Promise<OutgoingMessage['image']> {
  const s = services;
  const bars = await runBars(s, classId);
  if (bars.length === 0) return undefined;
  const data = await renderOffThread('runsChart', bars.map(({ runId: _id, ...b }) => b), { width: 900, height: 500, title: s.t('resultsChart.title') });
  const parts = bars.map((b) => s.t('resultsChart.altRun', {
    run: b.runId,
    detected: b.detected === null ? s.t('resultsChart.noVotes') : `${formatPercent(s.locale, b.detected)} (${b.votes})`,
    ppl: b.perplexity === null ? '—' : formatNumber(s.locale, b.perplexity, 1),
  }));
  return { filename: 'entrenamientos.png', data, alt: `${s.t('resultsChart.alt')} ${parts.join('; ')}.` };
}
