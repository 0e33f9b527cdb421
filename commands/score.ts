/** /score text:<...> — "¿qué tan quijotesco es?": the text's perplexity under the base and the class model. */
import type { ScoreResult } from '../core/engine.ts';
import { formatNumber, t as translate } from './messages.ts';
import { clip, positionText, replyFailure, stringOption } from './respond.ts';
import { admission } from './admission.ts';
import { escapeMarkdown, sanitizeText } from './text-safety.ts';
import type { Command, Services } from './types.ts';

export const MAX_SCORE_CHARS = 1000;
/** base/tuned perplexity ratios for the verdicts. */
export const VERY_QUIXOTIC = 1.5;
export const QUIXOTIC = 1.1;

export function verdict(s: Services, base: ScoreResult, tuned: ScoreResult): string {
  const ratio = base.perplexity / tuned.perplexity;
  const shown = formatNumber(s.locale, ratio, 2);
  if (ratio >= VERY_QUIXOTIC) return s.t('score.veryQuixotic', { ratio: shown });
  if (ratio >= QUIXOTIC) return s.t('score.quixotic', { ratio: shown });
  return s.t('score.notQuixotic', { ratio: shown });
}

export const score: Command = {
  name: 'score',
  description: translate('es', 'cmd.score.description'),
  options: [{ name: 'text', description: translate('es', 'cmd.score.opt.text'), type: 'string', required: true }],
  async run(ctx) {
    const s = ctx.services;
    const text = sanitizeText(stringOption(ctx, 'text')).text;
    if (text.length === 0 || text.length > MAX_SCORE_CHARS) {
      await ctx.reply({ text: s.t('score.badText', { max: MAX_SCORE_CHARS }), ephemeral: true });
      return;
    }
    const slot = admission(s).admit(ctx.user.id); // the same fair, bounded queue as /story
    if (!slot.ok) {
      await ctx.reply({ text: slot.text, ephemeral: true });
      return;
    }
    try {
      await ctx.defer();
      const cls = await s.store.findClass(ctx.place);
      const run = cls ? await s.store.classModelRun(cls.id) : undefined;
      const modelDir = run?.modelDir ?? null;
      const job = s.compute.submit({
        kind: 'score',
        params: { text, modelDir },
        place: ctx.place,
        owner: { id: ctx.user.id, name: ctx.user.displayName },
        label: clip(text, 40),
      });
      slot.ticket.bind(job);
      const handle = await ctx.reply({ text: s.t('score.working', { position: await positionText(s, job.info.id) }) });
      const { base, tuned } = await job.result;
      const shown = clip(escapeMarkdown(text), 300);
      const ppl = (r: ScoreResult) => formatNumber(s.locale, r.perplexity, 2);
      const result = tuned
        ? s.t('score.result', { text: shown, base: ppl(base), tuned: ppl(tuned), verdict: verdict(s, base, tuned) })
        : s.t('score.baseOnly', { text: shown, base: ppl(base) });
      await handle.edit({ text: result });
    } catch (e) {
      slot.ticket.release();
      await replyFailure(ctx, 'score', e);
    }
  },
};
