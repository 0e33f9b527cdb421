/**
 * /siguiente prompt:<…> [temperatura:<…>] — "the class is the sampler": the ten most likely next tokens of both
 * models as bars (with the top-k / top-p cut-offs), and five buttons with the class model's first five: a click
 * appends that token and redraws the bars for the longer text.
 */
import type { InspectResultOf } from '../core/inspect/requests.ts';
import type { NextToken } from '../core/inspect/next-tokens.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { tokenLabel } from '../core/plot/layout.ts';
import { formatNumber, formatPercent, t as translate } from './messages.ts';
import { classModelOr, inspectFailure, inspectJob, stateOf } from './inspect-common.ts';
import { clip, numberOption, stringOption } from './respond.ts';
import { escapeMarkdown, sanitizeText } from './text-safety.ts';
import type { ButtonHandler, ButtonSpec, Command, OutgoingMessage, Services } from './types.ts';

export const MAX_NEXT_PROMPT = 300;
export const MIN_TEMPERATURE = 0.1;
export const MAX_TEMPERATURE = 3;
/** The longest context the buttons grow (tokens). */
export const MAX_NEXT_TOKENS = 200;

interface NextState { classId: number; modelDir: string; ids: number[]; temperature: number; picks: number[] }

const pieceText = (t: NextToken) => clip(tokenLabel(t.piece), 20);

type NextResult = InspectResultOf<'next'>;

export async function nextMessage(s: Services, r: NextResult, stateId: string, picks: readonly NextToken[]): Promise<OutgoingMessage> {
  const t = s.t;
  const settings = t('next.settings', { temperature: formatNumber(s.locale, r.sampler.temperature, 2), topK: r.sampler.topK, topP: formatNumber(s.locale, r.sampler.topP, 2) });
  const tail = r.text.length > 80 ? `…${r.text.slice(-80)}` : r.text;
  const png = await renderOffThread('nextTokenBars', [
    { title: t('next.base'), tokens: r.base.tokens, keptByTopK: r.base.keptByTopK, keptByTopP: r.base.keptByTopP },
    { title: t('next.cls'), tokens: r.cls.tokens, keptByTopK: r.cls.keptByTopK, keptByTopP: r.cls.keptByTopP },
  ], { title: `«${tail}»`, settings, cutK: t('next.cutK'), cutP: t('next.cutP'), legend: t('next.legend') });
  const b = r.base.tokens[0], c = r.cls.tokens[0];
  const buttons: ButtonSpec[] = r.ids.length < MAX_NEXT_TOKENS
    ? picks.map((p, i) => ({ id: `next:${stateId}:${i}`, label: t('next.pick', { n: i + 1, piece: pieceText(p) }), style: 'secondary' as const }))
    : [];
  return {
    text: t('next.caption', { text: clip(escapeMarkdown(r.text), 600), temperature: formatNumber(s.locale, r.sampler.temperature, 2) }) + (buttons.length ? '' : `\n${t('next.full')}`),
    image: { filename: `siguiente-${stateId}.png`, data: png, alt: t('next.alt', { base: pieceText(b), baseP: formatPercent(s.locale, b.prob, 1), cls: pieceText(c), clsP: formatPercent(s.locale, c.prob, 1) }) },
    buttons,
  };
}

function remember(s: Services, base: Omit<NextState, 'ids' | 'picks'>, r: NextResult): { id: string; picks: NextToken[] } {
  const picks = r.cls.tokens.slice(0, 5);
  const id = stateOf<NextState>(s, 'next', 500).add({ ...base, ids: r.ids, picks: picks.map((p) => p.id) });
  return { id, picks };
}

export const siguiente: Command = {
  name: 'siguiente',
  description: translate('es', 'cmd.siguiente.description'),
  options: [
    { name: 'prompt', description: translate('es', 'cmd.siguiente.opt.prompt'), type: 'string', required: true },
    { name: 'temperatura', description: translate('es', 'cmd.siguiente.opt.temperatura'), type: 'number', min: MIN_TEMPERATURE, max: MAX_TEMPERATURE },
  ],
  async run(ctx) {
    const s = ctx.services;
    const prompt = sanitizeText(stringOption(ctx, 'prompt')).text;
    if (prompt.length === 0 || prompt.length > MAX_NEXT_PROMPT) {
      await ctx.reply({ text: s.t('inspect.badText', { max: MAX_NEXT_PROMPT }), ephemeral: true });
      return;
    }
    const temperature = numberOption(ctx, 'temperatura') ?? s.config.ml.temperature;
    if (!(temperature >= MIN_TEMPERATURE && temperature <= MAX_TEMPERATURE)) {
      await ctx.reply({ text: s.t('next.badTemperature', { min: MIN_TEMPERATURE, max: MAX_TEMPERATURE }), ephemeral: true });
      return;
    }
    const cm = await classModelOr(ctx);
    if (!cm) return;
    try {
      const { handle, value } = await inspectJob(ctx, prompt, { view: 'next', context: prompt, modelDir: cm.modelDir, temperature }, { command: 'siguiente' });
      const { id, picks } = remember(s, { classId: cm.classId, modelDir: cm.modelDir, temperature }, value);
      await handle.edit(await nextMessage(s, value, id, picks));
    } catch (e) {
      await inspectFailure(ctx, 'siguiente', e);
    }
  },
};

/** A pick: the context grows by the chosen token and the same message shows the new bars. */
export const nextButton: ButtonHandler = {
  prefix: 'next',
  async run(ctx) {
    const s = ctx.services;
    const state = stateOf<NextState>(s, 'next', 500).get(ctx.args[0] ?? '');
    const rank = Number(ctx.args[1]);
    const cls = await s.store.findClass(ctx.place);
    if (!state || !cls || state.classId !== cls.id || !(rank >= 0 && rank < state.picks.length)) {
      await ctx.reply({ text: s.t('next.expired'), ephemeral: true });
      return;
    }
    try {
      const ids = [...state.ids, state.picks[rank]];
      const { value } = await inspectJob(ctx, `+${rank + 1}`, { view: 'next', context: ids, modelDir: state.modelDir, temperature: state.temperature }, { ephemeral: true, command: 'siguiente' });
      const { id, picks } = remember(s, { classId: state.classId, modelDir: state.modelDir, temperature: state.temperature }, value);
      await ctx.message.edit(await nextMessage(s, value, id, picks));
    } catch (e) {
      await inspectFailure(ctx, 'siguiente', e);
    }
  },
};
