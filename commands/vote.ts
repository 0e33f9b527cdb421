/**
 * The "Historia A" / "Historia B" buttons: one vote per person and poll, changeable. The voter's confirmation is
 * sent first and never waits for the poll message: its edit is requested from the coalescing editor
 * (commands/poll-messages.ts) and happens when the platform's rate limit allows, showing the latest count.
 */
import { isQuijoteError } from '../core/errors.ts';
import { parseChoice, refreshPollMessage } from './poll.ts';
import type { ButtonHandler } from './types.ts';

export const vote: ButtonHandler = {
  prefix: 'vote',
  async run(ctx) {
    const s = ctx.services;
    const pollId = Number(ctx.args[0]);
    const choice = parseChoice(ctx.args[1]);
    const poll = Number.isInteger(pollId) ? await s.store.getPoll(pollId) : undefined;
    const cls = await s.store.findClass(ctx.place);
    if (!poll || !choice || !cls || poll.classId !== cls.id) {
      await ctx.reply({ text: s.t('vote.notFound'), ephemeral: true });
      return;
    }
    // The posted message's own handle (bot token) is kept; a click only brings one back after a restart.
    s.pollMessages.rememberIfMissing(poll.id, ctx.message);
    const refresh = () => void refreshPollMessage(s, poll.id);
    // A poll closed while its message was out of reach (e.g. /reveal after a restart) still shows its buttons:
    // the click closes the message too.
    const refuseClosed = async () => {
      await ctx.reply({ text: s.t('vote.closed'), ephemeral: true });
      refresh();
    };
    if (poll.status !== 'open') return refuseClosed();
    let outcome;
    try {
      outcome = await s.store.castVote(poll.id, ctx.user.id, choice);
    } catch (e) {
      if (isQuijoteError(e, 'FORBIDDEN')) return refuseClosed();
      throw e;
    }
    const text =
      outcome.previous === null
        ? s.t('vote.recorded', { choice })
        : outcome.previous === choice
          ? s.t('vote.same', { choice })
          : s.t('vote.changed', { previous: outcome.previous, choice });
    // Blind polls show how many voted, so only a first vote changes the message; the live split also changes.
    const changes = outcome.previous === null || (s.config.polls.liveSplit && outcome.previous !== choice);
    try {
      await ctx.reply({ text, ephemeral: true });
    } finally {
      if (changes) refresh();
    }
  },
};
