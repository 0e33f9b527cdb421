/**
 * /atencion texto:<…> palabra:<…> — which earlier tokens the word attends to, per layer, averaged over heads,
 * base model and class model side by side.
 */
import type { AttentionView } from '../core/inspect/attention.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { tokenLabel } from '../core/plot/layout.ts';
import { formatPercent, t as translate } from './messages.ts';
import { classModelOr, inspectFailure, inspectJob } from './inspect-common.ts';
import { clip, stringOption } from './respond.ts';
import { escapeMarkdown, sanitizeText } from './text-safety.ts';
import type { Command, OutgoingMessage, Services } from './types.ts';

export const MAX_ATTENTION_TEXT = 300;

/** The token the last layer looks at most (ignoring the word itself). */
function topOf(v: AttentionView, rows: number[][]): string {
  const last = rows[rows.length - 1] ?? [];
  let best = 0;
  for (let k = 0; k < last.length - 1; k++) if (last[k] > last[best]) best = k;
  return tokenLabel(v.pieces[best] ?? '').trim();
}

export async function attentionMessage(s: Services, v: AttentionView, word: string): Promise<OutgoingMessage> {
  const t = s.t;
  const layers = v.base.length;
  const png = await renderOffThread('attentionMap', v.pieces, v.base, v.cls, {
    title: t('attention.title', { word: clip(word, 30) }),
    base: t('attention.base'),
    cls: t('attention.cls'),
    layers: t('attention.layers', { layers }),
    earlier: t('attention.earlier', { n: '{n}' }), // the picture fills in the count
    legend: t('attention.legend', { max: '{max}' }),
  });
  return {
    text: t('attention.caption', { word: escapeMarkdown(word), layers }),
    image: { filename: 'atencion.png', data: png, alt: t('attention.alt', { word, layers, base: topOf(v, v.base), cls: topOf(v, v.cls) }) },
  };
}

export const atencion: Command = {
  name: 'atencion',
  description: translate('es', 'cmd.atencion.description'),
  options: [
    { name: 'texto', description: translate('es', 'cmd.atencion.opt.texto'), type: 'string', required: true },
    { name: 'palabra', description: translate('es', 'cmd.atencion.opt.palabra'), type: 'string', required: true },
  ],
  async run(ctx) {
    const s = ctx.services;
    const text = sanitizeText(stringOption(ctx, 'texto')).text;
    const word = sanitizeText(stringOption(ctx, 'palabra')).text;
    if (text.length === 0 || text.length > MAX_ATTENTION_TEXT || word.length === 0) {
      await ctx.reply({ text: s.t('inspect.badText', { max: MAX_ATTENTION_TEXT }), ephemeral: true });
      return;
    }
    const cm = await classModelOr(ctx);
    if (!cm) return;
    try {
      const { handle, value } = await inspectJob(ctx, `${word} · ${text}`, { view: 'attention', text, word, modelDir: cm.modelDir }, { command: 'atencion' });
      await handle.edit(await attentionMessage(s, value, word));
    } catch (e) {
      await inspectFailure(ctx, 'atencion', e);
    }
  },
};
