/**
 * The /story sampling options (temperatura, top_k, top_p, penalizacion): their specs for both platforms and
 * the check of what a student typed against the notebook's ranges, with a friendly message for each knob.
 */
import type { SamplingOverrides } from '../core/engine.ts';
import { inKnobRange, SAMPLING_RANGES, type SamplingKnob } from '../core/sample/knobs.ts';
import { formatNumber, t as translate } from './messages.ts';
import { numberOption } from './respond.ts';
import type { CommandContext, OptionSpec } from './types.ts';

/** Option name → knob. */
export const KNOB_OPTIONS: ReadonlyArray<{ option: string; knob: SamplingKnob }> = [
  { option: 'temperatura', knob: 'temperature' },
  { option: 'top_k', knob: 'topK' },
  { option: 'top_p', knob: 'topP' },
  { option: 'penalizacion', knob: 'repetitionPenalty' },
];

export const SAMPLING_OPTION_SPECS: OptionSpec[] = [
  { name: 'temperatura', description: translate('es', 'cmd.story.opt.temperatura'), type: 'number' },
  { name: 'top_k', description: translate('es', 'cmd.story.opt.top_k'), type: 'integer' },
  { name: 'top_p', description: translate('es', 'cmd.story.opt.top_p'), type: 'number' },
  { name: 'penalizacion', description: translate('es', 'cmd.story.opt.penalizacion'), type: 'number' },
];

export type SamplingRead = { ok: true; sampling: SamplingOverrides | undefined } | { ok: false; text: string };

/** The knobs the caller set, checked; the first one out of range gets its own message. */
export function readSampling(ctx: CommandContext): SamplingRead {
  const s = ctx.services;
  const out: SamplingOverrides = {};
  for (const { option, knob } of KNOB_OPTIONS) {
    const value = numberOption(ctx, option);
    if (value === undefined) continue;
    if (!inKnobRange(knob, value)) {
      const r = SAMPLING_RANGES[knob];
      const f = (n: number) => formatNumber(s.locale, n, 2);
      return { ok: false, text: s.t(`sampling.bad.${knob}`, { min: f(r.min), max: f(r.max), value: String(ctx.options[option]) }) };
    }
    out[knob] = value;
  }
  return { ok: true, sampling: Object.keys(out).length > 0 ? out : undefined };
}

/** "temperatura 0,8 · top_p 0,97" for the knobs that are set ('' when none). */
export function samplingLabel(ctx: CommandContext, sampling: SamplingOverrides | undefined): string {
  if (!sampling) return '';
  return KNOB_OPTIONS.filter(({ knob }) => sampling[knob] !== undefined)
    .map(({ option, knob }) => `${option} ${formatNumber(ctx.services.locale, sampling[knob] as number, 2)}`)
    .join(' · ');
}
