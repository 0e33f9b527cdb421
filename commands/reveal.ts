/**
 * /reveal and the "Revelar" button — teachers only. Closes the poll, says which story was fine-tuned, gives the
 * final tally and shows the fine-tuned story with the word sequences it shares with its training lines in bold.
 */
import { findCorpusTraces } from '../core/story/traces.ts';
import type { PollRow } from '../core/store/types.ts';
import { formatPercent, t as translate } from './messages.ts';
import { pollStories, refreshPollMessage } from './poll.ts';
import { clip, continuesPrompt, replyFailure, requireTeacher } from './respond.ts';
import { measure, meterText } from './meter.ts';
import { escapeMarkdown } from './text-safety.ts';
import { trainingCorpus } from './training-corpus.ts';
import { postSweepVotesIfComplete } from './sweep-card.ts';
import type { ButtonHandler, Command, InteractionContext, MessageHandle } from './types.ts';

export const MAX_NGRAMS = 12;
export const MAX_REVEAL_STORY_CHARS = 1000;

async function revealPoll(ctx: InteractionContext, poll: PollRow | undefined, clicked?: MessageHandle): Promise<void> {
  const s = ctx.services;
  const t = s.t;
  if (!poll) {
    await ctx.reply({ text: t('reveal.none'), ephemeral: true });
    return;
  }
  if (clicked) s.pollMessages.remember(poll.id, clicked);
  if (poll.status !== 'open' || !(await s.store.closePoll(poll.id))) {
    // e.g. revealed after a restart, when this message was out of reach: close it now
    await ctx.reply({ text: t('vote.closed'), ephemeral: true });
    if (clicked) void refreshPollMessage(s, poll.id, clicked);
    return;
  }
  // The closing edit is requested, not awaited: it is the poll's next edit (after at most the one in flight) and
  // /reveal answers without waiting behind vote edits. It logs its own failure.
  void refreshPollMessage(s, poll.id);
  await ctx.defer();
  try {
    const tally = await s.store.tally(poll.id);
    const { a, b } = await pollStories(s, poll);
    const tuned = poll.finetunedChoice === 'A' ? a : b;
    const run = await s.store.getRun(poll.runId);
    const corpus = await trainingCorpus(s, run);
    const lines = corpus.lines;
    // Traces are found in the escaped text (words are the same), so the bold spans wrap literal, inert text.
    const traces = findCorpusTraces(escapeMarkdown(tuned.text), lines);
    const tunedVotes = tally[poll.finetunedChoice];
    // With a teacher's text mixed in, each copied passage says which text it came from.
    const from = (i: number) => {
      if (corpus.textName === undefined) return '';
      const text = corpus.placeOf(traces.ngramLines[i])?.text;
      return ` (${text !== undefined ? t('reveal.fromText', { file: escapeMarkdown(text) }) : t('reveal.fromQuijote')})`;
    };
    const ngrams = traces.ngrams.slice(0, MAX_NGRAMS).map((g, i) => `«${clip(g, 80)}»${from(i)}`);
    const parts = [
      t('reveal.result', { poll: poll.id, choice: poll.finetunedChoice, a: tally.A, b: tally.B }) +
        ' ' +
        (tally.total > 0
          ? t('reveal.detected', { share: formatPercent(s.locale, tunedVotes / tally.total), votes: tunedVotes, total: tally.total })
          : t('reveal.noVotes')),
      t('reveal.traces', {
        coverage: formatPercent(s.locale, traces.coverage),
        highlighted: (continuesPrompt(poll.prompt) ? `_${escapeMarkdown(poll.prompt.trim())}_ ` : '') + clip(traces.highlighted.trim(), MAX_REVEAL_STORY_CHARS),
      }),
      ngrams.length > 0 ? t('reveal.ngrams', { list: ngrams.join(', ') }) : t('reveal.noNgrams'),
      meterText(s, measure(tuned.text, lines, corpus.placeOf)),
    ];
    // the model views of this poll's stories (commands/words.ts, commands/dial.ts)
    const views = run?.modelDir
      ? [{ id: `words:${poll.id}`, label: t('words.button'), style: 'secondary' as const }, { id: `film:p${poll.id}`, label: t('film.button'), style: 'secondary' as const }]
      : undefined;
    await ctx.reply({ text: parts.join('\n\n'), buttons: views });
    // a /sweep's last poll: which value won the votes (a failure is logged; the reveal is already out)
    await postSweepVotesIfComplete(ctx, poll).catch((e: unknown) => s.logger.error(`poll #${poll.id}: the sweep's votes chart failed`, e));
  } catch (e) {
    await replyFailure(ctx, 'reveal', e);
  }
}

export const reveal: Command = {
  name: 'reveal',
  description: translate('es', 'cmd.reveal.description'),
  teacherOnly: true,
  options: [],
  async run(ctx) {
    if (!(await requireTeacher(ctx, 'reveal'))) return;
    const cls = await ctx.services.store.findClass(ctx.place);
    await revealPoll(ctx, cls ? await ctx.services.store.latestOpenPoll(cls.id) : undefined);
  },
};

export const revealButton: ButtonHandler = {
  prefix: 'reveal',
  async run(ctx) {
    if (!(await requireTeacher(ctx, 'reveal'))) return;
    const s = ctx.services;
    const pollId = Number(ctx.args[0]);
    const poll = Number.isInteger(pollId) ? await s.store.getPoll(pollId) : undefined;
    const cls = await s.store.findClass(ctx.place);
    if (!poll || !cls || poll.classId !== cls.id) {
      await ctx.reply({ text: s.t('vote.notFound'), ephemeral: true });
      return;
    }
    await revealPoll(ctx, poll, ctx.message);
  },
};
