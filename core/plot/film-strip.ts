/**
 * The style dial's film: the same prompt and seed at several intensities α (0 = base model, 1 = class model,
 * above 1 the learned style exaggerated), one frame per α, stacked like a film strip. Each frame has a gauge of
 * its α and a number the class can vote for ("where did it turn Quijote?").
 */
import { Canvas, type Rgb } from './canvas.ts';
import { charsIn, fitText, INK, LINE_H, MARGIN, MUTED, SCALE, WIDTH, wrapText } from './layout.ts';

/** One frame; `label` is its heading, e.g. "1 · α = 0 (base)" (plain data: pictures are drawn on a worker thread). */
export interface Frame { alpha: number; text: string; label?: string }

export interface FilmLabels {
  title: string;
  legend: string; // what the gauge means
  more: string; // shown when a frame's text was cut
}

/** The default heading of frame n. */
export const frameLabelEs = (n: number, a: number): string => `${n} · α = ${a}${a === 0 ? ' (base)' : a === 1 ? ' (clase)' : a > 1 ? ' (exagerado)' : ''}`;

export const FILM_ES: Omit<FilmLabels, 'title'> = {
  legend: 'La barra de cada fotograma es su intensidad α: 0 es el modelo base, la raya es 1 (el modelo de la clase), más allá se exagera el estilo aprendido.',
  more: '[…]',
};

const FILM: Rgb = [40, 40, 40];
const HOLE: Rgb = [235, 235, 235];
const GAUGE_BASE: Rgb = [31, 119, 180];
const GAUGE_CLASS: Rgb = [202, 64, 20];
const MAX_LINES = 12;
const EDGE = 16; // the film's perforated edge

export function renderFilmStrip(frames: readonly Frame[], labels: FilmLabels, maxAlpha = 1.5): Buffer {
  const inner = WIDTH - 2 * EDGE - 2 * MARGIN;
  const max = charsIn(inner);
  const titleLines = wrapText(labels.title, charsIn(WIDTH - 2 * MARGIN)).slice(0, 3);
  const bodies = frames.map((f) => {
    const lines = wrapText(f.text, max);
    return lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES - 1), labels.more] : lines;
  });
  const frameH = (b: string[]) => LINE_H * (b.length + 1) + 24;
  const top = MARGIN + titleLines.length * LINE_H + 6;
  const legend = wrapText(labels.legend, charsIn(WIDTH - 2 * MARGIN));
  const height = top + bodies.reduce((n, b) => n + frameH(b) + 6, 0) + legend.length * LINE_H + MARGIN;
  const c = new Canvas(WIDTH, height);
  titleLines.forEach((l, i) => c.text(l, MARGIN, MARGIN + i * LINE_H, INK, SCALE));
  let y = top;
  frames.forEach((f, i) => {
    const h = frameH(bodies[i]);
    c.fillRect(0, y, WIDTH, h, FILM);
    for (let hy = y + 6; hy + 8 < y + h; hy += 16) { c.fillRect(4, hy, 8, 8, HOLE); c.fillRect(WIDTH - 12, hy, 8, 8, HOLE); }
    const x = EDGE + 4;
    c.fillRect(x, y + 4, WIDTH - 2 * x, h - 8, [255, 255, 255]);
    const tx = x + MARGIN - 4;
    fitText(c, f.label ?? frameLabelEs(i + 1, f.alpha), tx, y + 10, inner - 110, INK, SCALE);
    // gauge of α
    const gw = 96, gx = WIDTH - x - 10 - gw, gy = y + 14;
    c.fillRect(gx, gy, gw, 8, [230, 230, 230]);
    const t = Math.max(0, Math.min(1, f.alpha / maxAlpha));
    for (let k = 0; k < Math.round(gw * t); k++) {
      const a = (k / gw) * maxAlpha;
      c.fillRect(gx + k, gy, 1, 8, a <= 1 ? blend(GAUGE_BASE, GAUGE_CLASS, a) : GAUGE_CLASS);
    }
    c.vline(gx + Math.round(gw / maxAlpha), gy - 3, gy + 10, INK);
    bodies[i].forEach((l, k) => c.text(l, tx, y + 10 + (k + 1) * LINE_H + 4, l === labels.more ? MUTED : INK, SCALE));
    y += h + 6;
  });
  legend.forEach((l, i) => c.text(l, MARGIN, y + 4 + i * LINE_H, MUTED, SCALE));
  return c.toPng();
}

function blend(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t)) as unknown as Rgb;
}
