/**
 * The class's runs side by side (the /results chart): for each training run, a bar with the share of votes that
 * picked out its fine-tuned story in the revealed polls, a dashed line at 50 % (chance), and the run's eval
 * perplexity written above its bar. Runs without revealed votes get an empty outlined bar ("sin votos").
 */
import { Canvas, type Rgb } from './canvas.ts';
import { GLYPH_BASELINE, GLYPH_HEIGHT, textWidth } from './font.ts';

export interface RunBar {
  /** Short label under the bar, e.g. "#3 500 lín." */
  label: string;
  /** 0–1, or null when no revealed poll of the run has votes. */
  detected: number | null;
  votes: number;
  /** Eval perplexity after training (null when unknown). */
  perplexity: number | null;
}

export interface RunsChartOptions {
  width?: number;
  height?: number;
  title?: string;
}

export const RUNS_COLORS = {
  background: [255, 255, 255] as Rgb,
  text: [34, 34, 34] as Rgb,
  axis: [60, 60, 60] as Rgb,
  grid: [228, 228, 228] as Rgb,
  bar: [31, 119, 180] as Rgb,
  empty: [170, 170, 170] as Rgb,
  chance: [214, 39, 40] as Rgb,
};

/** Renders the chart (at most the last 8 runs fit legibly; callers pass those). */
export function renderRunsChart(bars: RunBar[], opts: RunsChartOptions = {}): Buffer {
  const width = Math.max(300, Math.round(opts.width ?? 900));
  const height = Math.max(200, Math.round(opts.height ?? 500));
  const s = width >= 600 && height >= 300 ? 2 : 1;
  const lineH = GLYPH_HEIGHT * s;
  const C = RUNS_COLORS;
  const c = new Canvas(width, height, C.background);
  c.text(opts.title ?? 'Entrenamientos de la clase', Math.floor(width / 2), 6 * s, C.text, s, 'center');

  const left = 12 * s + textWidth('100%', s);
  const right = width - 1 - 12 * s;
  const top = 52 * s + lineH; // title, legend, room for the perplexity labels
  const bottom = height - 1 - lineH * 2 - 14 * s; // run labels and the axis name
  const y = (share: number) => Math.round(bottom - share * (bottom - top));
  const textMid = Math.floor((GLYPH_BASELINE - 4) * s);

  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    const py = y(v);
    if (py < bottom) c.hline(left + 1, right, py, C.grid);
    c.hline(left - 4 * s, left - 1, py, C.axis);
    c.text(`${Math.round(v * 100)}%`, left - 6 * s, py - textMid, C.text, s, 'right');
  }
  c.hline(left, right, bottom, C.axis);
  c.vline(left, top, bottom, C.axis);
  c.text('detectaron la historia afinada', left, top - 8 * s - lineH, C.text, s);

  const n = Math.max(1, bars.length);
  const slot = (right - left) / n;
  const barW = Math.max(6 * s, Math.floor(slot * 0.55));
  bars.forEach((b, i) => {
    const cx = Math.round(left + slot * (i + 0.5));
    const x0 = cx - Math.floor(barW / 2);
    if (b.detected !== null && Number.isFinite(b.detected)) {
      const top_ = y(Math.max(0, Math.min(1, b.detected)));
      c.fillRect(x0, top_, barW, bottom - top_, C.bar);
      c.text(`${Math.round(b.detected * 100)}% de ${b.votes}`, cx, top_ - lineH - 2 * s, C.text, s, 'center');
    } else {
      const top_ = y(0.1);
      c.hline(x0, x0 + barW - 1, top_, C.empty, [4 * s, 3 * s]);
      c.vline(x0, top_, bottom - 1, C.empty);
      c.vline(x0 + barW - 1, top_, bottom - 1, C.empty);
      c.text('sin votos', cx, top_ - lineH - 2 * s, C.text, s, 'center');
    }
    c.text(b.label, cx, bottom + 6 * s, C.text, s, 'center');
    const ppl = b.perplexity !== null && Number.isFinite(b.perplexity) ? `ppl ${b.perplexity < 100 ? b.perplexity.toFixed(1) : Math.round(b.perplexity)}` : 'ppl -';
    c.text(ppl, cx, bottom + 8 * s + lineH, C.text, s, 'center');
  });
  c.hline(left + 1, right, y(0.5), C.chance, [8, 5], 2);

  // Legend under the title: what the bar, the dashed line and the numbers mean.
  const items: Array<{ label: string; color: Rgb; kind: 'box' | 'dash' }> = [
    { label: 'votos que detectaron la afinada', color: C.bar, kind: 'box' },
    { label: 'azar (50%)', color: C.chance, kind: 'dash' },
  ];
  const sample = 18 * s;
  const gap = 14 * s;
  const widths = items.map((it) => sample + 4 * s + textWidth(it.label, s));
  let lx = Math.max(4, Math.floor((width - widths.reduce((a, w) => a + w, 0) - gap) / 2));
  const ly = 8 * s + lineH + 4 * s;
  items.forEach((it, i) => {
    if (it.kind === 'box') c.fillRect(lx, ly + 1 * s, sample, lineH - 3 * s, it.color);
    else c.hline(lx, lx + sample - 1, ly + textMid - 1, it.color, [5 * s, 3 * s], 2);
    c.text(it.label, lx + sample + 4 * s, ly, C.text, s);
    lx += widths[i] + gap;
  });
  return c.toPng();
}
