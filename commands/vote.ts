/** The "Historia A" / "Historia B" buttons: one vote per person and poll, changeable; live count in the message. */
import { isQuijoteError } from '../core/errors.ts';
import { parseChoice, refreshPollMessage } from './poll.ts';
import type { ButtonHandler } from './types.ts';

export const vote: ButtonHandler = {
  prefix: 'vote',
  async run(ctx) {
    const s = ctx.services;
    const pollId = Number(ctx.args[0]);
    const choice = parseChoice(ctx.args[1]);
    const poll = Number.isInteger(pollId) ? s.store.getPoll(pollId) : undefined;
    const cls = s.store.findClass(ctx.place);
    if (!poll || !choice || !cls || poll.classId !== cls.id) {
      await ctx.reply({ text: s.t('vote.notFound'), ephemeral: true });
      return;
    }
    s.pollMessages.remember(poll.id, ctx.message);
    const refresh = () =>
      refreshPollMessage(s, poll.id, ctx.message).catch((e: unknown) =>
        s.logger.warn(`vote: could not update poll #${poll.id}: ${e instanceof Error ? e.message : String(e)}`),
      );
    // A poll closed while its message was out of reach (e.g. /reveal after a restart) still shows its buttons:
    // the click closes the message too.
    const refuseClosed = async () => {
      await refresh();
      await ctx.reply({ text: s.t('vote.closed'), ephemeral: true });
    };
    if (poll.status !== 'open') return refuseClosed();
    let outcome;
    try {
      outcome = s.store.castVote(poll.id, ctx.user.id, choice);
    } catch (e) {
      if (isQuijoteError(e, 'FORBIDDEN')) return refuseClosed();
      throw e;
    }
    await refresh();
    const text =
      outcome.previous === null
        ? s.t('vote.recorded', { choice })
        : outcome.previous === choice
          ? s.t('vote.same', { choice })
          : s.t('vote.changed', { previous: outcome.previous, choice });
    await ctx.reply({ text, ephemeral: true });
  },
};
