/**
 * Training-loss chart rendered on the server as a PNG (pure JavaScript, no browser, no native modules):
 * title, legend, axes with numeric ticks, the loss polyline and optional dashed eval-loss lines.
 */
import { Canvas, type Rgb } from './canvas.ts';
import { GLYPH_HEIGHT, GLYPH_BASELINE, textWidth } from './font.ts';

export interface LossPoint {
  step: number;
  loss: number;
}

/** Every word the chart draws; callers pass them from their catalogue (commands/messages.ts) in the user's language. */
export interface LossCurveLabels {
  title: string;
  /** x-axis name */
  step: string;
  /** y-axis name */
  loss: string;
  /** legend: the training curve, the eval line before, the eval line after (each followed by its value) */
  train: string;
  evalBefore: string;
  evalAfter: string;
  /** shown instead of a curve when there are no finite points */
  noData: string;
}

export interface LossCurveOptions {
  width?: number;
  height?: number;
  /** Overrides `labels.title`. */
  title?: string;
  labels?: Partial<LossCurveLabels>;
  /** Number format of ticks and legend values: `es` writes decimal commas (5,05), `en` points (5.05). */
  locale?: 'es' | 'en';
  evalBefore?: number;
  evalAfter?: number;
}

export const SPANISH_LABELS: LossCurveLabels = {
  title: 'Pérdida de entrenamiento', step: 'paso', loss: 'pérdida', train: 'entrenamiento',
  evalBefore: 'eval. antes', evalAfter: 'eval. después', noData: 'sin datos',
};
export const DEFAULT_TITLE = SPANISH_LABELS.title;
export const NO_DATA_TEXT = SPANISH_LABELS.noData;
export const COLORS = {
  background: [255, 255, 255] as Rgb,
  text: [34, 34, 34] as Rgb,
  axis: [60, 60, 60] as Rgb,
  grid: [228, 228, 228] as Rgb,
  train: [31, 119, 180] as Rgb,
  evalBefore: [214, 39, 40] as Rgb,
  evalAfter: [44, 160, 44] as Rgb,
};
const LINE_HALF_WIDTH = 1.25;
const DASH: readonly [number, number] = [8, 5];

/** Where things go; exported so callers and tests can find the pixel of a data point. */
export interface LossCurveLayout {
  width: number;
  height: number;
  textScale: number;
  plot: { left: number; top: number; right: number; bottom: number }; // inclusive pixel bounds
  xRange: [number, number];
  yRange: [number, number];
  xTicks: number[];
  yTicks: number[];
  /** Continuous pixel coordinates (pixel i spans [i, i+1)). */
  x(step: number): number;
  y(loss: number): number;
  points: LossPoint[]; // the finite points, sorted by step
}

/** 1, 2 or 5 times a power of ten, the smallest such >= raw. */
function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

function decimalsFor(step: number): number {
  return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
}

/** A tick label with the decimals its step needs, in the locale's decimal separator. */
function formatTick(v: number, step: number, locale: 'es' | 'en' = 'es'): string {
  let s = v.toFixed(decimalsFor(step));
  if (/^-0(\.0*)?$/.test(s)) s = s.slice(1);
  return locale === 'es' ? s.replace('.', ',') : s;
}

/** A legend value as the bot's messages write it (commands/messages.ts formatNumber with 3 digits: 5,05 / 5.05). */
export function formatValue(v: number, locale: 'es' | 'en' = 'es'): string {
  return new Intl.NumberFormat(locale === 'es' ? 'es-ES' : 'en-US', { minimumFractionDigits: 0, maximumFractionDigits: 3 }).format(v);
}

function finite(v: number | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function lossCurveLayout(points: ReadonlyArray<LossPoint>, opts: LossCurveOptions = {}): LossCurveLayout {
  const width = Math.max(200, Math.round(opts.width ?? 900));
  const height = Math.max(150, Math.round(opts.height ?? 500));
  const textScale = width >= 600 && height >= 300 ? 2 : 1;
  const lineH = GLYPH_HEIGHT * textScale;
  const clean = points.filter((p) => p && finite(p.step) && finite(p.loss)).slice().sort((a, b) => a.step - b.step);

  const ys = clean.map((p) => p.loss);
  for (const e of [opts.evalBefore, opts.evalAfter]) if (finite(e) && clean.length > 0) ys.push(e);
  let yLo = ys.length ? ys.reduce((a, b) => Math.min(a, b)) : 0;
  let yHi = ys.length ? ys.reduce((a, b) => Math.max(a, b)) : 1;
  const yPad = yHi - yLo < 1e-12 ? Math.abs(yLo) * 0.1 || 1 : (yHi - yLo) * 0.03; // keep the curve off the frame
  yLo -= yPad;
  yHi += yPad;
  const yStep = niceStep((yHi - yLo) / 5);
  yLo = Math.floor(yLo / yStep + 1e-9) * yStep;
  yHi = Math.ceil(yHi / yStep - 1e-9) * yStep;
  const yTicks: number[] = [];
  for (let k = Math.round(yLo / yStep); k <= Math.round(yHi / yStep); k++) yTicks.push(k * yStep);

  let xLo = clean.length ? clean[0].step : 0;
  let xHi = clean.length ? clean[clean.length - 1].step : 1;
  if (xHi - xLo < 1e-12) {
    xLo -= 1;
    xHi += 1;
  }
  const xStep = Math.max(niceStep((xHi - xLo) / 6), Number.isInteger(xLo) && Number.isInteger(xHi) ? 1 : 0);
  const xTicks: number[] = [];
  for (let k = Math.ceil(xLo / xStep - 1e-9); k * xStep <= xHi + 1e-9 * xStep; k++) xTicks.push(k * xStep);

  const yLabelW = Math.max(...yTicks.map((v) => textWidth(formatTick(v, yStep, opts.locale), textScale)));
  const left = 12 * textScale + yLabelW;
  const right = width - 1 - 12 * textScale;
  const top = 52 * textScale; // title row, legend row, y-axis name, gap above the top tick label
  const bottom = height - 1 - (lineH + 2 * textScale) * 2 - 6 * textScale; // tick labels and axis name
  const plot = { left, top, right, bottom };
  const x = (step: number) => left + 0.5 + ((step - xLo) / (xHi - xLo)) * (right - left);
  const y = (loss: number) => bottom + 0.5 - ((loss - yLo) / (yHi - yLo)) * (bottom - top);
  return { width, height, textScale, plot, xRange: [xLo, xHi], yRange: [yLo, yHi], xTicks, yTicks, x, y, points: clean };
}

/**
 * Renders the chart; never throws for empty or non-finite data (shows `labels.noData` instead). `drawn`, when
 * given, receives every string drawn (title, legend, ticks, axis names), in order.
 */
export function renderLossCurve(points: Array<LossPoint>, opts: LossCurveOptions = {}, drawn?: string[]): Buffer {
  const L = lossCurveLayout(points ?? [], opts);
  const s = L.textScale;
  const lineH = GLYPH_HEIGHT * s;
  const c = new Canvas(L.width, L.height, COLORS.background);
  const text: Canvas['text'] = (str, ...rest) => {
    drawn?.push(str);
    c.text(str, ...rest);
  };
  const { left, top, right, bottom } = L.plot;
  const labels: LossCurveLabels = { ...SPANISH_LABELS, ...opts.labels };
  const locale = opts.locale ?? 'es';
  const title = opts.title ?? labels.title;
  text(title, Math.floor(L.width / 2), 6 * s, COLORS.text, s, 'center');

  if (L.points.length === 0) {
    c.hline(left, right, bottom, COLORS.axis);
    c.vline(left, top, bottom, COLORS.axis);
    text(labels.noData, Math.floor((left + right) / 2), Math.floor((top + bottom - lineH) / 2), COLORS.text, s, 'center');
    return c.toPng();
  }

  // Grid and ticks.
  const yStep = L.yTicks.length > 1 ? L.yTicks[1] - L.yTicks[0] : 1;
  const xStep = L.xTicks.length > 1 ? L.xTicks[1] - L.xTicks[0] : 1;
  const textMid = Math.floor((GLYPH_BASELINE - 4) * s); // vertical centre of digits inside the cell
  for (const v of L.yTicks) {
    const py = Math.floor(L.y(v));
    if (py > top && py < bottom) c.hline(left + 1, right, py, COLORS.grid);
    c.hline(left - 4 * s, left - 1, py, COLORS.axis);
    text(formatTick(v, yStep, locale), left - 6 * s, py - textMid, COLORS.text, s, 'right');
  }
  for (const v of L.xTicks) {
    const px = Math.floor(L.x(v));
    if (px > left && px < right) c.vline(px, top, bottom - 1, COLORS.grid);
    c.vline(px, bottom + 1, bottom + 4 * s, COLORS.axis);
    text(formatTick(v, xStep, locale), px, bottom + 6 * s, COLORS.text, s, 'center');
  }
  text(labels.step, Math.floor((left + right) / 2), bottom + 8 * s + lineH, COLORS.text, s, 'center');
  c.hline(left, right, bottom, COLORS.axis);
  c.vline(left, top, bottom, COLORS.axis);

  // Eval lines (dashed), then the training curve on top.
  const legend: Array<{ label: string; color: Rgb; dashed: boolean }> = [{ label: labels.train, color: COLORS.train, dashed: false }];
  const evals: Array<[number | undefined, string, Rgb]> = [
    [opts.evalBefore, labels.evalBefore, COLORS.evalBefore],
    [opts.evalAfter, labels.evalAfter, COLORS.evalAfter],
  ];
  for (const [v, name, color] of evals) {
    if (!finite(v)) continue;
    const py = Math.floor(L.y(v));
    c.hline(left + 1, right, py - 1, color, DASH, 2);
    legend.push({ label: `${name} ${formatValue(v, locale)}`, color, dashed: true });
  }
  const halfWidth = L.points.length === 1 ? 3 : LINE_HALF_WIDTH; // a lone point gets a dot
  c.polyline(L.points.map((p) => [L.x(p.step), L.y(p.loss)] as const), COLORS.train, halfWidth);

  // Legend: one row under the title, centred.
  const sample = 18 * s;
  const gap = 14 * s;
  const items = legend.map((it) => ({ ...it, w: sample + 4 * s + textWidth(it.label, s) }));
  const total = items.reduce((a, it) => a + it.w, 0) + gap * (items.length - 1);
  let lx = Math.max(left, Math.floor((L.width - total) / 2));
  const ly = 8 * s + lineH + 4 * s;
  for (const it of items) {
    const midY = ly + textMid;
    c.hline(lx, lx + sample - 1, midY - 1, it.color, it.dashed ? [5 * s, 3 * s] : undefined, 2);
    text(it.label, lx + sample + 4 * s, ly, COLORS.text, s);
    lx += it.w + gap;
  }
  text(labels.loss, left, top - 8 * s - GLYPH_BASELINE * s, COLORS.text, s, 'center');
  return c.toPng();
}
