/**
 * The /story sampling knobs: their ranges (the notebook's parameter table, widened a little so a class can see
 * what too far looks like) and how they map onto Hugging Face's generation options.
 */
import type { SamplingOverrides } from '../engine.ts';
import type { GenerationConfig } from './processors.ts';

export type SamplingKnob = keyof SamplingOverrides;

export interface KnobRange {
  min: number;
  max: number;
  integer: boolean;
}

/** Inclusive ranges. top_k 0 switches top-k off; repetition_penalty 1 is no penalty. */
export const SAMPLING_RANGES: Readonly<Record<SamplingKnob, KnobRange>> = Object.freeze({
  temperature: { min: 0.1, max: 2, integer: false },
  topK: { min: 0, max: 200, integer: true },
  topP: { min: 0.5, max: 1, integer: false },
  repetitionPenalty: { min: 1, max: 2, integer: false },
});

export const SAMPLING_KNOBS: readonly SamplingKnob[] = ['temperature', 'topK', 'topP', 'repetitionPenalty'];

/** Whether `value` is allowed for `knob`. */
export function inKnobRange(knob: SamplingKnob, value: number): boolean {
  const r = SAMPLING_RANGES[knob];
  return Number.isFinite(value) && value >= r.min && value <= r.max && (!r.integer || Number.isInteger(value));
}

/** The generation-config overrides for the knobs that are set (none for an absent or empty object). */
export function samplingConfig(s: SamplingOverrides | undefined): Partial<GenerationConfig> {
  const out: Partial<GenerationConfig> = {};
  if (!s) return out;
  if (s.temperature !== undefined) out.temperature = s.temperature;
  if (s.topK !== undefined) out.top_k = s.topK;
  if (s.topP !== undefined) out.top_p = s.topP;
  if (s.repetitionPenalty !== undefined) out.repetition_penalty = s.repetitionPenalty;
  return out;
}
