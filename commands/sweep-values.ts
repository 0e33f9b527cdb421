/**
 * /sweep's settings, checked: exactly one of `lines`, `epochs`, `lr` holds a list of 2–4 distinct values; the
 * others hold at most one value (fixed) or take the bot's defaults. Every refusal names the limit it broke.
 */
import type { RunParams, SweepAxis, SweepRow } from '../core/store/types.ts';
import { formatNumber } from './messages.ts';
import { MAX_EPOCHS, MAX_LR } from './train.ts';
import type { CommandContext, Services } from './types.ts';

export const SWEEP_AXES: readonly SweepAxis[] = ['lines', 'epochs', 'lr'];
export const MIN_SWEEP_VALUES = 2;
export const MAX_SWEEP_VALUES = 4;

export type SweepPlan = { ok: true; axis: SweepAxis; values: number[]; params: RunParams } | { ok: false; text: string };

/** "50,200,500", "50 200 500"; with ";" the commas are decimal commas ("0,0001;0,0005"). */
export function splitValues(raw: string): string[] {
  const s = raw.trim();
  if (s === '') return [];
  if (s.includes(';')) return s.split(';').map((x) => x.trim().replace(',', '.')).filter((x) => x !== '');
  return s.split(/[\s,]+/).filter((x) => x !== '');
}

function parseValue(axis: SweepAxis, raw: string, maxLines: number): number | undefined {
  if (axis === 'lr') {
    if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) return undefined;
    const v = Number(raw);
    return v > 0 && v < MAX_LR ? v : undefined;
  }
  if (!/^\d+$/.test(raw)) return undefined;
  const v = Number(raw);
  const max = axis === 'lines' ? maxLines : MAX_EPOCHS;
  return v >= 1 && v <= max ? v : undefined;
}

export async function readSweepPlan(ctx: CommandContext): Promise<SweepPlan> {
  const s = ctx.services;
  const t = s.t;
  const maxLines = await s.text.maxLines();
  const given = SWEEP_AXES.map((axis) => ({ axis, raw: splitValues(String(ctx.options[axis] ?? '')) })).filter((g) => g.raw.length > 0);
  const lists = given.filter((g) => g.raw.length > 1);
  const ml = s.config.ml;
  if (lists.length === 0) {
    return { ok: false, text: t('sweep.usage', { lines: ml.nLines, epochs: ml.epochs, lr: formatNumber(s.locale, ml.lr, 6) }) };
  }
  if (lists.length > 1) return { ok: false, text: t('sweep.oneAxis', { axes: lists.map((g) => `\`${g.axis}\``).join(', ') }) };
  const values: Partial<Record<SweepAxis, number[]>> = {};
  for (const g of given) {
    const parsed: number[] = [];
    for (const raw of g.raw) {
      const v = parseValue(g.axis, raw, maxLines);
      if (v === undefined) {
        const text = g.axis === 'lines' ? t('sweep.badLines', { max: maxLines, value: raw })
          : g.axis === 'epochs' ? t('sweep.badEpochs', { max: MAX_EPOCHS, value: raw })
          : t('sweep.badLr', { max: formatNumber(s.locale, MAX_LR, 4), value: raw });
        return { ok: false, text };
      }
      if (parsed.includes(v)) return { ok: false, text: t('sweep.duplicate', { value: raw, axis: g.axis }) };
      parsed.push(v);
    }
    values[g.axis] = parsed;
  }
  const axis = lists[0]!.axis;
  const list = values[axis]!;
  if (list.length < MIN_SWEEP_VALUES || list.length > MAX_SWEEP_VALUES) {
    return { ok: false, text: t('sweep.count', { min: MIN_SWEEP_VALUES, max: MAX_SWEEP_VALUES, n: list.length }) };
  }
  const fixed = (k: SweepAxis, d: number) => (k === axis ? list[0]! : values[k]?.[0] ?? d);
  return { ok: true, axis, values: list, params: { lines: fixed('lines', ml.nLines), epochs: fixed('epochs', ml.epochs), lr: fixed('lr', ml.lr), seed: ml.seed } };
}

/** "50 líneas", "2 épocas", "lr 0,0005". */
export function valueText(s: Services, axis: SweepAxis | 'seed', value: number): string {
  return s.t(`sweep.value.${axis}`, { value: axis === 'lr' ? formatNumber(s.locale, value, 8) : value });
}

/** The settings every run of the sweep shares: "2 épocas · lr 0,0001 · semilla 42". */
export function fixedText(s: Services, sw: Pick<SweepRow, 'axis' | 'params'>): string {
  const p = sw.params;
  const parts = (['lines', 'epochs', 'lr'] as const).filter((k) => k !== sw.axis).map((k) => valueText(s, k, p[k]));
  return [...parts, valueText(s, 'seed', p.seed ?? s.config.ml.seed)].join(' · ');
}

export function valuesText(s: Services, sw: Pick<SweepRow, 'axis' | 'values'>): string {
  return sw.values.map((v) => valueText(s, sw.axis, v)).join(' · ');
}
