/**
 * The /sweep card: one picture that answers "what happens with 500 lines?". One colour per value of the sweep; the
 * loss curves overlaid (x in epochs, so runs of different lengths span the same width), then one bar per value for
 * the eval perplexity (the base model's in grey on top) and one for the memorization share of its poll's story.
 * Drawn 520 px wide with text at scale 2 (legible on a phone); every word comes from the caller's catalogue.
 */
import { Canvas, type Rgb } from './canvas.ts';
import { GLYPH_BASELINE, textWidth } from './font.ts';
import { charsIn, fitText, INK, LINE_H, MARGIN, MUTED, RULE, SCALE, WIDTH, wrapText } from './layout.ts';

/** Okabe–Ito colours (told apart with colour-blindness too), one per value in order. */
export const SWEEP_COLOURS: readonly Rgb[] = [[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167]];
const BASE_GREY: Rgb = [150, 150, 150];

export interface SweepSeries {
  /** e.g. "50 líneas (#4)" */
  label: string;
  /** The training loss, x in epochs. */
  curve: Array<{ x: number; y: number }>;
  perplexity: number | null;
  /** Already formatted, e.g. "40,1". */
  perplexityText: string;
  /** 0–1, null when its poll has no story. */
  memorization: number | null;
  memorizationText: string;
}

export interface SweepCardData {
  title: string;
  subtitle: string;
  series: SweepSeries[];
  /** `label` names its dashed eval-loss line in the legend, `barLabel` its perplexity bar. */
  base: { label: string; barLabel: string; evalLoss: number | null; perplexity: number | null; perplexityText: string };
  labels: { loss: string; epoch: string; perplexity: string; memorization: string; footer: string };
  /** Tick labels with a decimal comma ('es') or point ('en'). */
  locale: 'es' | 'en';
}

const PLOT_H = 190;
const ROW = LINE_H + 4;
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' '); // the font has no no-break spaces

function tick(v: number, step: number, locale: 'es' | 'en'): string {
  const d = Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)));
  const s = v.toFixed(d);
  return locale === 'es' ? s.replace('.', ',') : s;
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

/** The height the card needs (the same sums as the drawing below). */
function layout(d: SweepCardData) {
  const max = charsIn(WIDTH - 2 * MARGIN);
  const title = wrapText(d.title, max).slice(0, 3);
  const subtitle = wrapText(d.subtitle, max).slice(0, 3);
  const footer = wrapText(d.labels.footer, max).slice(0, 4);
  const legendRows = legendLayout(d).rows;
  const lossTop = MARGIN + (title.length + subtitle.length) * LINE_H + 6 + legendRows * LINE_H + 8;
  const pplTop = lossTop + LINE_H + PLOT_H + 2 * LINE_H + 8;
  const memTop = pplTop + LINE_H + (d.series.length + 1) * ROW + 8;
  const footTop = memTop + LINE_H + d.series.length * ROW + 8;
  return { title, subtitle, footer, lossTop, pplTop, memTop, footTop, height: footTop + footer.length * LINE_H + MARGIN };
}

function legendLayout(d: SweepCardData) {
  const items = [...d.series.map((s, i) => ({ label: plain(s.label), colour: SWEEP_COLOURS[i % SWEEP_COLOURS.length], dashed: false }))];
  if (d.base.evalLoss !== null) items.push({ label: plain(d.base.label), colour: BASE_GREY, dashed: true });
  const placed: Array<{ x: number; row: number; label: string; colour: Rgb; dashed: boolean }> = [];
  let x = MARGIN;
  let row = 0;
  for (const it of items) {
    const w = 22 + textWidth(it.label, SCALE);
    if (x > MARGIN && x + w > WIDTH - MARGIN) { row++; x = MARGIN; }
    placed.push({ x, row, ...it });
    x += w + 16;
  }
  return { placed, rows: row + 1 };
}

export function renderSweepCard(d: SweepCardData): Buffer {
  const L = layout(d);
  const c = new Canvas(WIDTH, L.height);
  let y = MARGIN;
  for (const l of L.title) { c.text(plain(l), MARGIN, y, INK, SCALE); y += LINE_H; }
  for (const l of L.subtitle) { c.text(plain(l), MARGIN, y, MUTED, SCALE); y += LINE_H; }
  y += 6;
  const mid = Math.floor((GLYPH_BASELINE - 4) * SCALE);
  for (const it of legendLayout(d).placed) {
    const ly = y + it.row * LINE_H;
    if (it.dashed) c.hline(it.x, it.x + 15, ly + mid, it.colour, [4, 3], 3);
    else c.fillRect(it.x, ly + 3, 16, 14, it.colour);
    c.text(it.label, it.x + 22, ly, INK, SCALE);
  }
  drawLoss(c, d, L.lossTop);
  drawBars(c, L.pplTop, d.labels.perplexity, [
    { label: d.base.barLabel, colour: BASE_GREY, value: d.base.perplexity, text: d.base.perplexityText },
    ...d.series.map((s, i) => ({ label: s.label, colour: SWEEP_COLOURS[i % SWEEP_COLOURS.length], value: s.perplexity, text: s.perplexityText })),
  ]);
  drawBars(c, L.memTop, d.labels.memorization, d.series.map((s, i) => ({
    label: s.label, colour: SWEEP_COLOURS[i % SWEEP_COLOURS.length], value: s.memorization, text: s.memorizationText,
  })), 1);
  L.footer.forEach((l, i) => c.text(plain(l), MARGIN, L.footTop + i * LINE_H, MUTED, SCALE));
  return c.toPng();
}

function drawLoss(c: Canvas, d: SweepCardData, top: number): void {
  c.text(plain(d.labels.loss), MARGIN, top, INK, SCALE);
  const pts = d.series.flatMap((s) => s.curve).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const ys = pts.map((p) => p.y);
  if (d.base.evalLoss !== null && Number.isFinite(d.base.evalLoss)) ys.push(d.base.evalLoss);
  let lo = ys.length ? Math.min(...ys) : 0;
  let hi = ys.length ? Math.max(...ys) : 1;
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const xHi = Math.max(1e-9, ...pts.map((p) => p.x));
  const yTicks: number[] = [];
  for (let k = Math.round(lo / step); k <= Math.round(hi / step); k++) yTicks.push(k * step);
  const left = MARGIN + Math.max(...yTicks.map((v) => textWidth(tick(v, step, d.locale), SCALE))) + 8;
  const right = WIDTH - MARGIN - 6;
  const pTop = top + LINE_H + 4;
  const bottom = pTop + PLOT_H;
  const px = (x: number) => left + 0.5 + (x / xHi) * (right - left);
  const py = (v: number) => bottom + 0.5 - ((v - lo) / (hi - lo)) * (bottom - pTop);
  const mid = Math.floor((GLYPH_BASELINE - 4) * SCALE);
  for (const v of yTicks) {
    const yy = Math.floor(py(v));
    if (yy > pTop && yy < bottom) c.hline(left + 1, right, yy, [232, 232, 232]);
    c.text(tick(v, step, d.locale), left - 6, yy - mid, INK, SCALE, 'right');
  }
  const xStep = Math.max(niceStep(xHi / 4), Number.isInteger(xHi) ? 1 : 0);
  for (let x = 0; x <= xHi + 1e-9; x += xStep) {
    const xx = Math.floor(px(x));
    c.vline(xx, bottom + 1, bottom + 6, INK);
    c.text(tick(x, xStep, d.locale), xx, bottom + 8, INK, SCALE, 'center');
  }
  c.text(plain(d.labels.epoch), Math.floor((left + right) / 2), bottom + 8 + LINE_H, MUTED, SCALE, 'center');
  c.hline(left, right, bottom, INK);
  c.vline(left, pTop, bottom, INK);
  if (d.base.evalLoss !== null && Number.isFinite(d.base.evalLoss)) c.hline(left + 1, right, Math.floor(py(d.base.evalLoss)), BASE_GREY, [6, 4], 2);
  d.series.forEach((s, i) => {
    const curve = s.curve.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    c.polyline(curve.map((p) => [px(p.x), py(p.y)] as const), SWEEP_COLOURS[i % SWEEP_COLOURS.length], curve.length === 1 ? 3 : 1.5);
  });
}

/** One labelled horizontal bar per row; `fixedMax` scales bars to it (shares), else to the largest value. */
function drawBars(c: Canvas, top: number, title: string, rows: Array<{ label: string; colour: Rgb; value: number | null; text: string }>, fixedMax?: number): void {
  fitText(c, plain(title), MARGIN, top, WIDTH - 2 * MARGIN, INK, SCALE);
  const labelW = Math.min(190, Math.max(...rows.map((r) => textWidth(plain(r.label), SCALE))));
  const valueW = Math.max(...rows.map((r) => textWidth(plain(r.text), SCALE)));
  const barX = MARGIN + 22 + labelW + 8;
  const barMax = WIDTH - MARGIN - valueW - 8 - barX;
  const finite = rows.map((r) => r.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = fixedMax ?? Math.max(1e-9, ...finite);
  rows.forEach((r, i) => {
    const y = top + LINE_H + 4 + i * ROW;
    c.fillRect(MARGIN, y + 3, 16, 14, r.colour);
    fitText(c, plain(r.label), MARGIN + 22, y, labelW, INK, SCALE);
    c.vline(barX - 1, y, y + LINE_H - 6, RULE);
    const ok = r.value !== null && Number.isFinite(r.value);
    const w = ok ? Math.max(2, Math.round((Math.min(r.value!, max) / max) * barMax)) : 0;
    if (ok) c.fillRect(barX, y + 1, w, LINE_H - 8, r.colour);
    c.text(plain(r.text), barX + w + 6, y, ok ? INK : MUTED, SCALE);
  });
}
