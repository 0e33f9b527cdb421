/**
 * The inspection views as job data (core/jobs/protocol.ts kind 'inspect'): one request shape per view and the
 * plain-JSON result each gives back, so a view crosses the process boundary like a story or a score. "No value"
 * is null on the wire (JSON has no NaN): the first token of a text has no log-probability.
 */
import { QuijoteError } from '../errors.ts';
import type { GpuSlice } from '../engine.ts';
import type { AttentionView } from './attention.ts';
import type { DialStory } from './film.ts';
import type { Inspector, NextTokensResult } from './inspector.ts';
import type { WordShifts } from './logprobs.ts';

/** The style dial's range, and the film's frames (0 = base model, 1 = class model, 1.5 = exaggerated). */
export const MIN_ALPHA = 0;
export const MAX_ALPHA = 1.5;
export const FILM_ALPHAS: readonly number[] = [0, 0.5, 1, 1.5];

export type InspectParams =
  | { view: 'words'; text: string; modelDir: string }
  | { view: 'next'; context: string | number[]; modelDir: string; temperature?: number }
  | { view: 'dial'; prompt: string; modelDir: string; alpha: number; seed: number }
  | { view: 'film'; prompt: string; modelDir: string; alphas: number[]; seed: number }
  | { view: 'attention'; text: string; word: string; modelDir: string };

export interface WireTokenDelta { id: number; piece: string; base: number | null; cls: number | null; delta: number | null }

export type InspectResult =
  | { view: 'words'; tokens: WireTokenDelta[]; truncated: boolean; shifts: WordShifts }
  | ({ view: 'next' } & NextTokensResult)
  | { view: 'dial'; story: DialStory }
  | { view: 'film'; frames: DialStory[] }
  | ({ view: 'attention' } & AttentionView);

export type InspectResultOf<V extends InspectParams['view']> = Extract<InspectResult, { view: V }>;

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Runs one view on the compute side. */
export async function runInspect(inspector: Inspector, p: InspectParams, o: { slice?: GpuSlice; signal?: AbortSignal } = {}): Promise<InspectResult> {
  switch (p.view) {
    case 'words': {
      const r = await inspector.words(p.text, p.modelDir, o);
      const tokens = r.tokens.map((t) => ({ id: t.id, piece: t.piece, base: finiteOrNull(t.base), cls: finiteOrNull(t.cls), delta: finiteOrNull(t.delta) }));
      return { view: 'words', tokens, truncated: r.truncated, shifts: r.shifts };
    }
    case 'next':
      return { view: 'next', ...(await inspector.nextTokens(p.context, p.modelDir, p.temperature === undefined ? {} : { temperature: p.temperature }, o)) };
    case 'dial':
      return { view: 'dial', story: await inspector.dialStory(p.prompt, p.modelDir, p.alpha, p.seed, o) };
    case 'film':
      return { view: 'film', frames: await inspector.film(p.prompt, p.modelDir, p.alphas, p.seed, o) };
    case 'attention':
      return { view: 'attention', ...(await inspector.attention(p.text, p.word, p.modelDir, o)) };
  }
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Whether `p` is a well-formed InspectParams (what protocol.ts checks before the compute side trusts it). */
export function isInspectParams(p: Record<string, unknown>): boolean {
  if (!isString(p.modelDir)) return false;
  switch (p.view) {
    case 'words': return isString(p.text);
    case 'next': return (isString(p.context) || (Array.isArray(p.context) && p.context.every((x) => Number.isInteger(x)))) && (p.temperature === undefined || isNumber(p.temperature));
    case 'dial': return isString(p.prompt) && isNumber(p.alpha) && isNumber(p.seed);
    case 'film': return isString(p.prompt) && Array.isArray(p.alphas) && p.alphas.every(isNumber) && isNumber(p.seed);
    case 'attention': return isString(p.text) && isString(p.word);
    default: return false;
  }
}

export function noInspector(): QuijoteError {
  return new QuijoteError('INTERNAL', 'Este motor no tiene las vistas del modelo.', { hint: 'Actualiza quijote-bot: el proceso de cálculo y el bot deben ser de la misma versión.' });
}
