/**
 * The style dial. `/story prompt:<…> intensidad:<α>` writes one story with θ_base + α·(θ_class − θ_base) (no poll),
 * with a «Película» button; «Película» (there and under a revealed poll) draws the same prompt and seed at
 * α = 0, 0.5, 1 and 1.5 as a film strip, and the class votes with buttons on the frame where it "turned Quijote".
 * Under a poll, the seed is the poll's, so frames α = 0 and α = 1 are the poll's two stories.
 */
import type { DialStory } from '../core/inspect/film.ts';
import { FILM_ALPHAS } from '../core/inspect/requests.ts';
import { renderOffThread } from '../core/plot/off-thread.ts';
import { formatNumber } from './messages.ts';
import { classModelOr, inspectFailure, inspectJob, stateOf, type ClassModel } from './inspect-common.ts';
import { clip, joinStory } from './respond.ts';
import { escapeMarkdown } from './text-safety.ts';
import type { ButtonHandler, ButtonSpec, CommandContext, InteractionContext, OutgoingMessage, Services } from './types.ts';

interface FilmSource { classId: number; modelDir: string; prompt: string; seed: number }
interface FilmState { classId: number; message: OutgoingMessage; votes: Map<string, number> }

const alphaText = (s: Services, a: number) => formatNumber(s.locale, a, a % 1 === 0 ? 0 : 1);

/** /story with `intensidad`: one story at α, and the «Película» button for the same prompt and seed. */
export async function runDialStory(ctx: CommandContext, cm: ClassModel, prompt: string, alpha: number): Promise<void> {
  const s = ctx.services;
  try {
    const seed = s.rng.int(2 ** 31);
    const { handle, value } = await inspectJob(ctx, `α ${alpha} · ${prompt}`, { view: 'dial', prompt, modelDir: cm.modelDir, alpha, seed }, { command: 'story' });
    const source = stateOf<FilmSource>(s, 'film-source').add({ classId: cm.classId, modelDir: cm.modelDir, prompt, seed });
    await handle.edit({
      text: s.t('dial.caption', { alpha: alphaText(s, alpha), prompt: escapeMarkdown(prompt), text: clip(escapeMarkdown(joinStory(prompt, value.story.text)), 1500) }),
      buttons: [{ id: `film:s${source}`, label: s.t('film.button'), style: 'primary' }],
    });
  } catch (e) {
    await inspectFailure(ctx, 'story', e);
  }
}

async function filmMessage(s: Services, prompt: string, frames: DialStory[], filmId: string, votes: Map<string, number>): Promise<OutgoingMessage> {
  const t = s.t;
  const label = (n: number, a: number) => `${n} · α = ${alphaText(s, a)}${a === 0 ? ` (${t('film.base')})` : a === 1 ? ` (${t('film.cls')})` : a > 1 ? ` (${t('film.more')})` : ''}`;
  const png = await renderOffThread('filmStrip', frames.map((f, i) => ({ alpha: f.alpha, text: joinStory(prompt, f.text), label: label(i + 1, f.alpha) })), {
    title: t('film.title', { prompt: clip(prompt, 120) }),
    legend: t('film.legend'),
    more: '[…]',
  });
  return {
    text: t('film.caption', { votes: voteLine(frames.length, votes) }),
    image: { filename: `pelicula-${filmId}.png`, data: png, alt: t('film.alt', { starts: frames.map((f, i) => `${i + 1}) «${clip(f.text.trim(), 60)}»`).join(' ') }) },
    buttons: frames.map((_, i): ButtonSpec => ({ id: `frame:${filmId}:${i + 1}`, label: t('film.vote', { n: i + 1 }), style: 'secondary' })),
  };
}

function voteLine(n: number, votes: Map<string, number>): string {
  const counts = Array.from({ length: n }, () => 0);
  for (const v of votes.values()) counts[v - 1]++;
  return counts.map((c, i) => `${i + 1}: ${c}`).join(' · ');
}

async function showFilm(ctx: InteractionContext, source: FilmSource): Promise<void> {
  const s = ctx.services;
  try {
    const { handle, value } = await inspectJob(ctx, `${s.t('film.button')} · ${source.prompt}`, { view: 'film', prompt: source.prompt, modelDir: source.modelDir, alphas: [...FILM_ALPHAS], seed: source.seed }, { command: 'story' });
    const films = stateOf<FilmState>(s, 'film', 50);
    const votes = new Map<string, number>();
    const state: FilmState = { classId: source.classId, message: { text: '' }, votes };
    const id = films.add(state);
    state.message = await filmMessage(s, source.prompt, value.frames, id, votes);
    await handle.edit(state.message);
  } catch (e) {
    await inspectFailure(ctx, 'story', e);
  }
}

/** «Película»: `film:s<id>` after a dial story, `film:p<poll>` under a revealed poll. */
export const filmButton: ButtonHandler = {
  prefix: 'film',
  async run(ctx) {
    const s = ctx.services;
    const ref = ctx.args[0] ?? '';
    const cls = await s.store.findClass(ctx.place);
    let source: FilmSource | undefined;
    if (ref.startsWith('s')) source = stateOf<FilmSource>(s, 'film-source').get(ref.slice(1));
    else if (ref.startsWith('p') && cls) {
      const poll = await s.store.getPoll(Number(ref.slice(1)));
      const story = poll && poll.classId === cls.id && poll.status === 'closed' ? await s.store.getStory(poll.storyAId) : undefined;
      const run = poll ? await s.store.getRun(poll.runId) : undefined;
      if (poll && story && story.seed !== null && run?.modelDir) source = { classId: cls.id, modelDir: run.modelDir, prompt: poll.prompt, seed: story.seed };
    }
    if (!source || !cls || source.classId !== cls.id) {
      await ctx.reply({ text: s.t('film.expired'), ephemeral: true });
      return;
    }
    if (!(await classModelOr(ctx))) return;
    await showFilm(ctx, source);
  },
};

/** A vote for the frame where the story "turned Quijote": one per person, changeable; the count is in the message. */
export const frameButton: ButtonHandler = {
  prefix: 'frame',
  async run(ctx) {
    const s = ctx.services;
    const film = stateOf<FilmState>(s, 'film', 50).get(ctx.args[0] ?? '');
    const n = Number(ctx.args[1]);
    const cls = await s.store.findClass(ctx.place);
    const frames = film?.message.buttons?.length ?? 0;
    if (!film || !cls || film.classId !== cls.id || !(Number.isInteger(n) && n >= 1 && n <= frames)) {
      await ctx.reply({ text: s.t('film.expired'), ephemeral: true });
      return;
    }
    film.votes.set(ctx.user.id, n);
    film.message = { ...film.message, text: s.t('film.caption', { votes: voteLine(frames, film.votes) }) };
    await ctx.message.edit(film.message);
    await ctx.reply({ text: s.t('film.voted', { n }), ephemeral: true });
  },
};
