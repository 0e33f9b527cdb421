/** /story prompt:<text> — anyone. Two stories (base and class model) in a blind poll with vote buttons. */
import { t as translate } from './messages.ts';
import { admission } from './admission.ts';
import { createBlindPoll } from './poll.ts';
import { clip, replyFailure, stringOption } from './respond.ts';
import { escapeMarkdown, sanitizeText } from './text-safety.ts';
import type { Command, MessageHandle } from './types.ts';

export const MAX_PROMPT_CHARS = 300;

export const story: Command = {
  name: 'story',
  description: translate('es', 'cmd.story.description'),
  options: [{ name: 'prompt', description: translate('es', 'cmd.story.opt.prompt'), type: 'string', required: true }],
  async run(ctx) {
    const s = ctx.services;
    // Control, bidi-override and zero-width characters never reach the model or the public poll.
    const raw = stringOption(ctx, 'prompt');
    const prompt = sanitizeText(raw).text;
    if (prompt.length === 0 && raw.length > 0) {
      await ctx.reply({ text: s.t('story.promptInvisible'), ephemeral: true });
      return;
    }
    if (prompt.length === 0 || prompt.length > MAX_PROMPT_CHARS) {
      await ctx.reply({ text: s.t('story.badPrompt', { max: MAX_PROMPT_CHARS }), ephemeral: true });
      return;
    }
    const cls = s.store.findClass(ctx.place);
    const run = cls ? s.store.latestDoneRun(cls.id) : undefined;
    if (!cls || !run) {
      await ctx.reply({ text: s.t('story.notTrained'), ephemeral: true });
      return;
    }
    // A fair, bounded queue: a slot is reserved now (before any await) or the caller is told why not.
    const slot = admission(s).admit(ctx.user.id);
    if (!slot.ok) {
      await ctx.reply({ text: slot.text, ephemeral: true });
      return;
    }
    try {
      await ctx.defer();
    } catch (e) {
      slot.ticket.release();
      throw e;
    }
    try {
      let status: MessageHandle | undefined;
      const poll = await createBlindPoll(s, {
        place: ctx.place,
        classId: cls.id,
        run,
        prompt,
        ownerId: ctx.user.id,
        ownerName: ctx.user.displayName,
        post: (m) => ctx.post(m),
        onSubmitted: (job) => slot.ticket.bind(job),
        onQueued: async (position) => {
          status = await ctx.reply({ text: s.t('story.generating', { prompt: clip(escapeMarkdown(prompt), 400), position }) });
        },
      });
      const done = { text: s.t('story.posted', { poll: poll.id }) };
      if (status) await status.edit(done);
      else await ctx.reply(done);
    } catch (e) {
      slot.ticket.release();
      await replyFailure(ctx, 'story', e);
    }
  },
};
