/**
 * The /sweep pictures and their messages, from the store: the card when the sweep ends (loss curves, eval
 * perplexity and the memorization share of each value's poll story, measured with the meter of commands/meter.ts),
 * and, when the sweep's last poll is revealed, which value won the class's votes. Both drawn off-thread.
 */
import { renderOffThread } from '../core/plot/off-thread.ts';
import type { SweepCardData } from '../core/plot/sweep-card.ts';
import type { SweepVotesData } from '../core/plot/sweep-votes.ts';
import type { PollRow, RunRow, SweepRow } from '../core/store/types.ts';
import { formatNumber, formatPercent } from './messages.ts';
import { measure, METER_MIN_WORDS } from './meter.ts';
import { fixedText, valuesText, valueText } from './sweep-values.ts';
import type { InteractionContext, OutgoingMessage, Services } from './types.ts';

/** One finished value of a sweep: its run and its poll (undefined when the poll could not be made). */
export interface SweepValueOutcome {
  run: RunRow;
  index: number;
  poll: PollRow | undefined;
}

const ppl = (s: Services, v: number | null | undefined) => (v === null || v === undefined ? '—' : formatNumber(s.locale, v, 2));

/** The share of the fine-tuned story of `poll` inside phrases copied from the run's training lines. */
export async function pollMemorization(s: Services, poll: PollRow | undefined, run: RunRow): Promise<number | null> {
  if (!poll) return null;
  const story = await s.store.getStory(poll.finetunedChoice === 'A' ? poll.storyAId : poll.storyBId);
  if (!story) return null;
  return measure(story.text, await s.text.trainingLines(run.params.lines)).coverage;
}

/** The card's numbers and words (exported for tests: they are what the picture and its message say). */
export async function sweepCardData(s: Services, sw: SweepRow, outcomes: SweepValueOutcome[]): Promise<{ data: SweepCardData; rows: string[]; alt: string[] }> {
  const t = s.t;
  const first = outcomes[0]!.run.metrics!;
  const partial = outcomes.length < sw.values.length ? t('sweep.cardPartial', { done: outcomes.length, count: sw.values.length }) : '';
  const series: SweepCardData['series'] = [];
  const rows: string[] = [];
  const alt: string[] = [];
  for (const o of outcomes) {
    const m = o.run.metrics!;
    const value = valueText(s, sw.axis, sw.values[o.index]!);
    const mem = await pollMemorization(s, o.poll, o.run);
    const memText = mem === null ? t('sweep.chart.noStory') : formatPercent(s.locale, mem);
    const steps = Math.max(1, m.optimizerSteps);
    series.push({
      label: t('sweep.series', { value, run: o.run.id }),
      curve: (o.run.lossCurve ?? []).map((p) => ({ x: (p.step * o.run.params.epochs) / steps, y: p.loss })),
      perplexity: m.perplexityAfter,
      perplexityText: ppl(s, m.perplexityAfter),
      memorization: mem,
      memorizationText: memText,
    });
    rows.push(t('sweep.cardRow', {
      value, run: o.run.id, pplBefore: ppl(s, m.perplexityBefore), ppl: ppl(s, m.perplexityAfter), mem: memText,
      poll: o.poll ? t('sweep.cardRowPoll', { poll: o.poll.id }) : '',
    }));
    alt.push(t('sweep.cardAltRow', { value, run: o.run.id, ppl: ppl(s, m.perplexityAfter), mem: memText }));
  }
  const data: SweepCardData = {
    title: t('sweep.cardTitle', { sweep: sw.id, values: valuesText(s, sw), partial }),
    subtitle: t('sweep.cardSubtitle', { fixed: fixedText(s, sw) }),
    series,
    base: { label: t('sweep.chart.baseEval'), barLabel: t('sweep.chart.base'), evalLoss: first.evalLossBefore, perplexity: first.perplexityBefore, perplexityText: ppl(s, first.perplexityBefore) },
    labels: {
      loss: t('sweep.chart.loss'), epoch: t('sweep.chart.epoch'), perplexity: t('sweep.chart.perplexity'),
      memorization: t('sweep.chart.memorization'), footer: t('sweep.chart.footer'),
    },
    locale: s.locale,
  };
  return { data, rows, alt };
}

/** The card, as one message: the numbers in text, the picture with its alt text. */
export async function postSweepCard(ctx: InteractionContext, sw: SweepRow, outcomes: SweepValueOutcome[]): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const { data, rows, alt } = await sweepCardData(s, sw, outcomes);
  const first = outcomes[0]!.run;
  const partial = outcomes.length < sw.values.length ? t('sweep.cardPartial', { done: outcomes.length, count: sw.values.length }) : '';
  const text = t('sweep.card', {
    sweep: sw.id, partial, values: valuesText(s, sw), fixed: fixedText(s, sw), rows: rows.join('\n'),
    basePpl: ppl(s, first.metrics?.perplexityBefore), n: METER_MIN_WORDS, example: outcomes.at(-1)!.run.id,
  });
  let image: OutgoingMessage['image'];
  try {
    image = {
      filename: t('sweep.filename', { sweep: sw.id }),
      data: await renderOffThread('sweepCard', data),
      alt: t('sweep.cardAlt', { sweep: sw.id, rows: alt.join('; '), basePpl: ppl(s, first.metrics?.perplexityBefore) }),
    };
  } catch (e) {
    s.logger.error(`sweep #${sw.id}: could not draw the card`, e);
  }
  await ctx.post({ text, ...(image ? { image } : {}), mentionUserId: sw.teacherId }).catch((e: unknown) => s.logger.error(`sweep #${sw.id}: could not post the card`, e));
}

/** Each finished run of the sweep with its poll: the run's first posted poll, opened while the sweep ran. */
export async function sweepPolls(s: Services, sw: SweepRow): Promise<Array<{ run: RunRow; index: number; poll: PollRow }>> {
  const polls = await s.store.listPolls(sw.classId);
  const out: Array<{ run: RunRow; index: number; poll: PollRow }> = [];
  for (const run of await s.store.sweepRuns(sw.id)) {
    if (run.status !== 'done') continue;
    const poll = polls.find((p) => p.runId === run.id && (sw.finishedAt === null || p.createdAt <= sw.finishedAt));
    const index = sw.values.indexOf(run.params[sw.axis]);
    if (poll && index >= 0) out.push({ run, index, poll });
  }
  return out;
}

/**
 * After a reveal: when `revealed` is one of a finished sweep's polls and all of them are now closed, posts which
 * value won the class's votes (the share of each poll's votes that went to its fine-tuned story).
 */
export async function postSweepVotesIfComplete(ctx: InteractionContext, revealed: PollRow): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  const run = await s.store.getRun(revealed.runId);
  const sw = run?.sweepId ? await s.store.getSweep(run.sweepId) : undefined;
  if (!sw || sw.status === 'running') return;
  const entries = await sweepPolls(s, sw);
  if (!entries.some((e) => e.poll.id === revealed.id)) return;
  const fresh = await Promise.all(entries.map(async (e) => ({ ...e, poll: (await s.store.getPoll(e.poll.id))!, tally: await s.store.tally(e.poll.id) })));
  if (fresh.some((e) => e.poll.status !== 'closed')) return;
  const rows = fresh.map((e) => {
    const tuned = e.tally[e.poll.finetunedChoice];
    const share = e.tally.total > 0 ? tuned / e.tally.total : null;
    const text = share === null ? t('sweep.votesNone') : t('sweep.votesRow', { tuned, total: e.tally.total, share: formatPercent(s.locale, share) });
    return { e, share, text, value: valueText(s, sw.axis, sw.values[e.index]!) };
  });
  const voted = rows.filter((r) => r.share !== null);
  const best = Math.max(...voted.map((r) => r.share!));
  const winners = voted.filter((r) => r.share === best);
  const winner = voted.length === 0 ? t('sweep.votesNobody')
    : winners.length === 1 ? t('sweep.votesWinner', { value: winners[0]!.value, run: winners[0]!.e.run.id })
    : t('sweep.votesTie', { values: winners.map((w) => `${w.value} (#${w.e.run.id})`).join(', ') });
  const data: SweepVotesData = {
    title: t('sweep.votesTitle', { sweep: sw.id }),
    rows: rows.map((r) => ({ label: t('sweep.series', { value: r.value, run: r.e.run.id }), share: r.share, text: r.text })),
    labels: { axis: t('sweep.votesAxis'), chance: t('sweep.votesChance'), footer: t('sweep.votesFooter') },
  };
  const text = t('sweep.votes', {
    sweep: sw.id,
    rows: rows.map((r) => t('sweep.votesLine', { value: r.value, run: r.e.run.id, poll: r.e.poll.id, text: r.text })).join('\n'),
    winner,
  });
  let image: OutgoingMessage['image'];
  try {
    image = {
      filename: t('sweep.votesFilename', { sweep: sw.id }),
      data: await renderOffThread('sweepVotes', data),
      alt: t('sweep.votesAlt', { sweep: sw.id, rows: rows.map((r) => `${r.value}: ${r.text}`).join('; ') }),
    };
  } catch (e) {
    s.logger.error(`sweep #${sw.id}: could not draw the votes`, e);
  }
  await ctx.post({ text, ...(image ? { image } : {}) }).catch((e: unknown) => s.logger.error(`sweep #${sw.id}: could not post the votes`, e));
}
