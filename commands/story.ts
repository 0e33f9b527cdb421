/** /story prompt:<text> — anyone. Two stories (base and class model) in a blind poll with vote buttons. */
import { t as translate } from './messages.ts';
import { admission } from './admission.ts';
import { createBlindPoll } from './poll.ts';
import { readSampling, SAMPLING_OPTION_SPECS, samplingLabel } from './sampling.ts';
import { clip, numberOption, replyFailure, stringOption } from './respond.ts';
import { escapeMarkdown, sanitizeText } from './text-safety.ts';
import { runDialStory } from './dial.ts';
import { MAX_ALPHA, MIN_ALPHA } from '../core/inspect/requests.ts';
import type { Command, MessageHandle } from './types.ts';

export const MAX_PROMPT_CHARS = 300;

export const story: Command = {
  name: 'story',
  description: translate('es', 'cmd.story.description'),
  options: [
    { name: 'prompt', description: translate('es', 'cmd.story.opt.prompt'), type: 'string', required: true },
    ...SAMPLING_OPTION_SPECS,
    { name: 'intensidad', description: translate('es', 'cmd.story.opt.intensidad'), type: 'number', min: MIN_ALPHA, max: MAX_ALPHA },
  ],
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
    const knobs = readSampling(ctx);
    if (!knobs.ok) {
      await ctx.reply({ text: knobs.text, ephemeral: true });
      return;
    }
    const sampling = knobs.sampling;
    const cls = await s.store.findClass(ctx.place);
    const run = cls ? await s.store.classModelRun(cls.id) : undefined;
    if (!cls || !run) {
      await ctx.reply({ text: s.t('story.notTrained'), ephemeral: true });
      return;
    }
    const alpha = numberOption(ctx, 'intensidad');
    if (alpha !== undefined) { // the style dial: one story at α, no poll (commands/dial.ts)
      if (!(alpha >= MIN_ALPHA && alpha <= MAX_ALPHA)) await ctx.reply({ text: s.t('dial.badAlpha'), ephemeral: true });
      else if (run.modelDir) await runDialStory(ctx, { classId: cls.id, run, modelDir: run.modelDir }, prompt, alpha);
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
        sampling,
        ownerId: ctx.user.id,
        ownerName: ctx.user.displayName,
        post: (m) => ctx.post(m),
        onSubmitted: (job) => slot.ticket.bind(job),
        onQueued: async (position) => {
          status = await ctx.reply({ text: s.t('story.generating', { prompt: clip(escapeMarkdown(prompt), 400), position }) });
        },
      });
      const settings = samplingLabel(ctx, sampling);
      const posted = s.t('story.posted', { poll: poll.id });
      const done = { text: settings ? `${posted} ${s.t('story.settings', { settings })}` : posted };
      if (status) await status.edit(done);
      else await ctx.reply(done);
    } catch (e) {
      slot.ticket.release();
      await replyFailure(ctx, 'story', e);
    }
  },
};
