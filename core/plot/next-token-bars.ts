/**
 * "The class is the sampler": the ten most probable next tokens of the base model and of the class model as
 * horizontal bars (probability after the repetition penalty and the temperature), with the top-k and top-p
 * cut-offs drawn as dashed lines: tokens below a line cannot be drawn. The first five are numbered for the
 * buttons that pick them.
 */
import { Canvas, type Rgb } from './canvas.ts';
import { textWidth } from './font.ts';
import { charsIn, fitText, INK, LINE_H, MARGIN, MUTED, RULE, SCALE, tokenLabel, WIDTH, wrapText } from './layout.ts';

export interface BarToken { piece: string; prob: number; kept: boolean }
export interface BarPanel { title: string; tokens: BarToken[]; keptByTopK: number; keptByTopP: number }

export interface BarsLabels {
  title: string; // e.g. the prompt's end
  settings: string; // e.g. "temperatura 0.9 · top-k 50 · top-p 0.95"
  cutK: string; // "corte top-k"
  cutP: string; // "corte top-p"
  legend: string; // "gris: fuera del sorteo"
}

export const BARS_ES: Omit<BarsLabels, 'title' | 'settings'> = { cutK: 'corte top-k', cutP: 'corte top-p', legend: 'Barras grises: no pueden salir (quedan tras un corte). Los números 1-5 son los botones.' };

export const BASE_COLOUR: Rgb = [31, 119, 180];
export const CLASS_COLOUR: Rgb = [202, 64, 20];
const CUT: Rgb = [90, 90, 90];
const GREY: Rgb = [200, 200, 200];

const ROW = LINE_H + 2;

export function renderNextTokenBars(panels: readonly [BarPanel, BarPanel], labels: BarsLabels): Buffer {
  const max = charsIn(WIDTH - 2 * MARGIN);
  const titleLines = wrapText(labels.title, max).slice(0, 3);
  const head = MARGIN + titleLines.length * LINE_H + LINE_H + 6;
  const panelH = LINE_H + 4 + Math.max(...panels.map((p) => p.tokens.length)) * ROW + 10;
  const legend = wrapText(labels.legend, max);
  const height = head + 2 * panelH + legend.length * LINE_H + 2 * MARGIN;
  const c = new Canvas(WIDTH, height);
  titleLines.forEach((l, i) => c.text(l, MARGIN, MARGIN + i * LINE_H, INK, SCALE));
  fitText(c, labels.settings, MARGIN, MARGIN + titleLines.length * LINE_H, WIDTH - 2 * MARGIN, MUTED, SCALE);

  const pmax = Math.max(1e-9, ...panels.flatMap((p) => p.tokens.map((t) => t.prob)));
  const numW = textWidth('5 ', SCALE);
  const labelW = textWidth('x'.repeat(11), SCALE);
  const pctW = textWidth('100.0%', SCALE);
  const barX = MARGIN + numW + labelW + 6;
  const barMax = WIDTH - MARGIN - pctW - 6 - barX;
  panels.forEach((p, pi) => {
    const colour = pi === 0 ? BASE_COLOUR : CLASS_COLOUR;
    const top = head + pi * panelH;
    c.fillRect(MARGIN, top + 4, 10, 10, colour);
    fitText(c, p.title, MARGIN + 16, top, WIDTH - 2 * MARGIN - 16, INK, SCALE);
    const y0 = top + LINE_H + 4;
    p.tokens.forEach((t, i) => {
      const y = y0 + i * ROW;
      if (i < 5) c.text(String(i + 1), MARGIN, y, MUTED, SCALE);
      const label = `«${tokenLabel(t.piece)}»`;
      fitText(c, label, MARGIN + numW, y, labelW, t.kept ? INK : MUTED, SCALE);
      const w = Math.max(1, Math.round((t.prob / pmax) * barMax));
      c.fillRect(barX, y, w, LINE_H - 6, t.kept ? colour : GREY);
      c.text(`${(t.prob * 100).toFixed(1)}%`, barX + w + 4, y, t.kept ? INK : MUTED, SCALE);
    });
    c.vline(barX - 1, y0 - 2, y0 + p.tokens.length * ROW - 4, RULE);
    // Cut-off lines between rows (only where they fall inside the shown tokens).
    const cut = (after: number, text: string) => {
      if (after <= 0 || after >= p.tokens.length) return;
      const y = y0 + after * ROW - 3;
      c.hline(MARGIN, WIDTH - MARGIN, y, CUT, [6, 4], 2);
      c.text(text, WIDTH - MARGIN, y + 3, CUT, 1, 'right');
    };
    cut(p.keptByTopK, labels.cutK);
    if (p.keptByTopP < p.keptByTopK) cut(p.keptByTopP, labels.cutP);
  });
  legend.forEach((l, i) => c.text(l, MARGIN, height - MARGIN - legend.length * LINE_H + i * LINE_H + 4, MUTED, SCALE));
  return c.toPng();
}
