/**
 * "What changed, word by word": the text with each token on a fill coloured by log p(class) − log p(base) on a
 * diverging scale (warm: the class model expects it much more; cool: the base model expected it more), a legend,
 * and below it the words gained and lost on the held-out lines.
 */
import { Canvas } from './canvas.ts';
import { textWidth } from './font.ts';
import { charsIn, colourBar, diverging, fitText, INK, inkOn, LINE_H, MARGIN, MUTED, RULE, SCALE, WIDTH, wrapText } from './layout.ts';

/** `delta` null (or NaN): no prediction (the first token). */
export interface HeatToken { piece: string; delta: number | null }
export interface WordRow { word: string; delta: number; count: number }

export interface HeatmapLabels {
  title: string;
  legendCool: string; // left end of the scale
  legendWarm: string; // right end
  legendUnit: string; // what the numbers are
  gained: string;
  lost: string;
  none: string;
  truncated: string;
}

export const HEATMAP_ES: HeatmapLabels = {
  title: '¿Qué cambió? Palabra a palabra',
  legendCool: 'azul: el base lo esperaba más',
  legendWarm: 'rojo: la clase lo espera más',
  legendUnit: 'log p(clase) − log p(base)',
  gained: 'Palabras ganadas',
  lost: 'Palabras perdidas',
  none: '(ninguna)',
  truncated: '(solo el comienzo del texto)',
};

/** The scale's end: the 95th percentile of |Δ|, rounded up, between 1 and 6 nats. */
export function heatLimit(tokens: readonly HeatToken[]): number {
  const a = tokens.filter((t) => t.delta !== null && Number.isFinite(t.delta)).map((t) => Math.abs(t.delta as number)).sort((x, y) => x - y);
  if (a.length === 0) return 1;
  return Math.max(1, Math.min(6, Math.ceil(a[Math.min(a.length - 1, Math.floor(0.95 * a.length))])));
}

interface Placed { line: number; col: number; text: string; delta: number | null }

/** Lays tokens out in lines of `max` characters; a token never breaks across lines (unless longer than a line). */
export function placeTokens(tokens: readonly HeatToken[], max: number): Placed[] {
  const out: Placed[] = [];
  let line = 0, col = 0;
  for (const t of tokens) {
    const parts = t.piece.split('\n');
    parts.forEach((part, i) => {
      if (i > 0) { line++; col = 0; }
      let text = part.replace(/\t/g, ' ');
      if (text === '') return;
      let n = Array.from(text).length;
      if (col + n > max && col > 0) { line++; col = 0; }
      if (col === 0) { text = text.replace(/^ +/, ''); n = Array.from(text).length; }
      if (n === 0) return;
      while (n > max) { // a very long token: cut it
        out.push({ line, col, text: Array.from(text).slice(0, max).join(''), delta: t.delta });
        text = Array.from(text).slice(max).join(''); n -= max; line++; col = 0;
      }
      out.push({ line, col, text, delta: t.delta });
      col += n;
    });
  }
  return out;
}

export function renderTokenHeatmap(tokens: readonly HeatToken[], words: { gained: WordRow[]; lost: WordRow[] } | null, labels: HeatmapLabels = HEATMAP_ES, opts: { truncated?: boolean } = {}): Buffer {
  const cell = 6 * SCALE;
  const max = charsIn(WIDTH - 2 * MARGIN);
  const placed = placeTokens(tokens, max);
  const lines = placed.length ? placed[placed.length - 1].line + 1 : 1;
  const limit = heatLimit(tokens);
  const titleLines = wrapText(labels.title, max);
  const top = MARGIN + titleLines.length * LINE_H + 6;
  const textBottom = top + lines * LINE_H + (opts.truncated ? LINE_H : 0);
  const legendTop = textBottom + 10;
  const legendH = 18 + 3 * LINE_H + 18;
  const wordRows = words ? Math.max(1, words.gained.length, words.lost.length) : 0;
  const wordsTop = legendTop + legendH + 6;
  const height = (words ? wordsTop + (wordRows + 1) * LINE_H + 8 : legendTop + legendH) + MARGIN;
  const c = new Canvas(WIDTH, height);
  titleLines.forEach((l, i) => c.text(l, MARGIN, MARGIN + i * LINE_H, INK, SCALE));

  for (const p of placed) {
    const x = MARGIN + p.col * cell, y = top + p.line * LINE_H;
    const fill = diverging(p.delta, limit);
    c.fillRect(x - 1, y - 2, textWidth(p.text, SCALE) + 2, LINE_H - 2, fill);
    c.text(p.text, x, y, inkOn(fill), SCALE);
  }
  if (opts.truncated) c.text(labels.truncated, MARGIN, top + lines * LINE_H, MUTED, SCALE);

  // Legend: the colour bar, its ends, what the numbers are, and what each colour means.
  const barW = WIDTH - 2 * MARGIN;
  colourBar(c, MARGIN, legendTop, barW, 14, (t) => diverging((t * 2 - 1) * limit, limit));
  const ly = legendTop + 18;
  c.text(`-${limit}`, MARGIN, ly, INK, SCALE);
  c.text('0', WIDTH / 2, ly, INK, SCALE, 'center');
  c.text(`+${limit}`, WIDTH - MARGIN, ly, INK, SCALE, 'right');
  fitText(c, labels.legendUnit, WIDTH / 2, ly + LINE_H, barW, MUTED, 1, 'center');
  const swatch = (y: number, v: number, text: string) => {
    c.fillRect(MARGIN, y + 2, 14, 14, diverging(v, 1));
    fitText(c, text, MARGIN + 20, y, barW - 20, INK, SCALE);
  };
  swatch(ly + LINE_H + 14, 1, labels.legendWarm);
  swatch(ly + 2 * LINE_H + 14, -1, labels.legendCool);

  if (words) {
    c.hline(MARGIN, WIDTH - MARGIN, wordsTop - 4, RULE);
    const colW = (WIDTH - 2 * MARGIN) / 2;
    const column = (x: number, head: string, rows: WordRow[]) => {
      fitText(c, head, x, wordsTop, colW - 8, INK, SCALE);
      if (rows.length === 0) c.text(labels.none, x, wordsTop + LINE_H, MUTED, SCALE);
      rows.forEach((r, i) => {
        const y = wordsTop + (i + 1) * LINE_H;
        const num = `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)}`;
        const fill = diverging(r.delta, limit);
        const right = x + colW - 14;
        c.fillRect(right - textWidth(num, SCALE) - 3, y - 2, textWidth(num, SCALE) + 5, LINE_H - 2, fill);
        c.text(num, right, y, inkOn(fill), SCALE, 'right');
        fitText(c, r.word, x, y, colW - 24 - textWidth(num, SCALE), INK, SCALE);
      });
    };
    column(MARGIN, labels.gained, words.gained);
    column(MARGIN + colW, labels.lost, words.lost);
  }
  return c.toPng();
}
