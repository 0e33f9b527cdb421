/**
 * /palabras texto:<…> and the «Palabras» button under a revealed poll — "what changed, word by word": a heatmap of
 * log p(class) − log p(base) per token, and the words gained and lost on the held-out lines.
 */
import type { InspectResultOf } from '../core/inspect/requests.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { tokenLabel } from '../core/plot/layout.ts';
import { formatNumber, t as translate } from './messages.ts';
import { classModelOr, inspectFailure, inspectJob } from './inspect-common.ts';
import { stringOption } from './respond.ts';
import { sanitizeText } from './text-safety.ts';
import type { ButtonHandler, Command, InteractionContext, OutgoingMessage, Services } from './types.ts';

export const MAX_WORDS_TEXT = 1000;
export const MIN_WORD_COUNT = 3;

/** How a token is named in alt text: trimmed, or its visible form when it is only spaces or a line break. */
const named = (piece: string) => tokenLabel(piece).trim() || tokenLabel(piece);
const signed = (s: Services, v: number) => `${v >= 0 ? '+' : ''}${formatNumber(s.locale, v, 1)}`;

export async function wordsMessage(s: Services, r: InspectResultOf<'words'>, id: string): Promise<OutgoingMessage> {
  const t = s.t;
  const png = await renderOffThread('tokenHeatmap', r.tokens, r.shifts, {
    title: t('words.title'), legendCool: t('words.legendCool'), legendWarm: t('words.legendWarm'), legendUnit: t('words.legendUnit'),
    gained: t('words.gained'), lost: t('words.lost'), none: t('words.none'), truncated: t('words.truncated'),
  }, { truncated: r.truncated });
  const scored = r.tokens.filter((x): x is typeof x & { delta: number } => x.delta !== null);
  const up = scored.reduce((a, b) => (b.delta > a.delta ? b : a), scored[0]);
  const down = scored.reduce((a, b) => (b.delta < a.delta ? b : a), scored[0]);
  const list = (ws: { word: string }[]) => ws.map((w) => w.word).join(', ') || t('words.none');
  const alt = t('words.alt', {
    tokens: r.tokens.length, up: up ? named(up.piece) : '', upDelta: up ? signed(s, up.delta) : '', down: down ? named(down.piece) : '',
    downDelta: down ? signed(s, down.delta) : '', gained: list(r.shifts.gained), lost: list(r.shifts.lost),
  });
  return {
    text: t('words.caption', { lines: s.config.ml.evalLines, min: MIN_WORD_COUNT }),
    image: { filename: `palabras-${id}.png`, data: png, alt },
  };
}

async function showWords(ctx: InteractionContext, text: string, what: string, name: string): Promise<void> {
  const cm = await classModelOr(ctx);
  if (!cm) return;
  try {
    const { handle, value } = await inspectJob(ctx, text, { view: 'words', text, modelDir: cm.modelDir }, { command: what });
    await handle.edit(await wordsMessage(ctx.services, value, name));
  } catch (e) {
    await inspectFailure(ctx, what, e);
  }
}

export const palabras: Command = {
  name: 'palabras',
  description: translate('es', 'cmd.palabras.description'),
  options: [{ name: 'texto', description: translate('es', 'cmd.palabras.opt.texto'), type: 'string', required: true }],
  async run(ctx) {
    const text = sanitizeText(stringOption(ctx, 'texto')).text; // no control, bidi or zero-width characters
    if (text.length === 0 || text.length > MAX_WORDS_TEXT) {
      await ctx.reply({ text: ctx.services.t('inspect.badText', { max: MAX_WORDS_TEXT }), ephemeral: true });
      return;
    }
    await showWords(ctx, text, 'palabras', 'texto');
  },
};

/** «Palabras» under a revealed poll: the heatmap of the class model's story. */
export const wordsButton: ButtonHandler = {
  prefix: 'words',
  async run(ctx) {
    const s = ctx.services;
    const poll = await s.store.getPoll(Number(ctx.args[0]));
    const cls = await s.store.findClass(ctx.place);
    const story = poll && cls && poll.classId === cls.id && poll.status === 'closed' ? await s.store.getStory(poll.finetunedChoice === 'A' ? poll.storyAId : poll.storyBId) : undefined;
    if (!story) {
      await ctx.reply({ text: s.t('vote.notFound'), ephemeral: true });
      return;
    }
    await showWords(ctx, story.text.trim(), 'palabras', `votacion-${poll!.id}`);
  },
};
