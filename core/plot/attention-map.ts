/**
 * Attention of one chosen word: how much weight it gives to each earlier token (rows, the text read top to
 * bottom) in each layer (columns 1..L, 12 for the 124M), averaged over heads, base model and class model side by
 * side on one colour scale. Tokens before the last MAX_ROWS are summed into the first row.
 */
import { Canvas } from './canvas.ts';
import { textWidth } from './font.ts';
import { charsIn, colourBar, fitText, INK, inkOn, LINE_H, MARGIN, MUTED, RULE, SCALE, sequential, tokenLabel, WIDTH, wrapText } from './layout.ts';

export interface AttentionLabels {
  title: string;
  base: string;
  cls: string;
  layers: string; // "columnas: capas 1 a 12…"
  earlier: string; // "… {n} antes": {n} is the number of tokens summed into the first row
  legend: string; // "…de 0 a {max}": {max} is the top of the scale
}

export const ATTENTION_ES: Omit<AttentionLabels, 'title'> = {
  base: 'Base',
  cls: 'Clase',
  layers: 'columnas: las capas; filas: el texto hasta la palabra',
  earlier: '… {n} antes',
  legend: 'color: peso de la atención (promedio de las cabezas), de 0 a {max}',
};

export const MAX_ROWS = 24;

/** Rows to draw: labels and weights per layer, the earliest tokens summed into one row when there are many. */
export function attentionRows(pieces: readonly string[], w: readonly (readonly number[])[], earlier: string): { labels: string[]; values: number[][] } {
  const T = pieces.length;
  const cut = Math.max(0, T - MAX_ROWS + 1);
  const labels: string[] = [];
  const values: number[][] = []; // [row][layer]
  if (cut > 1) {
    labels.push(earlier.replace('{n}', String(cut)));
    values.push(w.map((row) => row.slice(0, cut).reduce((a, b) => a + b, 0)));
  }
  for (let k = cut > 1 ? cut : 0; k < T; k++) {
    labels.push(tokenLabel(pieces[k]).trim() || '·');
    values.push(w.map((row) => row[k] ?? 0));
  }
  return { labels, values };
}

export function renderAttentionMap(pieces: readonly string[], base: readonly (readonly number[])[], cls: readonly (readonly number[])[], labels: AttentionLabels): Buffer {
  const L = base.length;
  const b = attentionRows(pieces, base, labels.earlier), k = attentionRows(pieces, cls, labels.earlier);
  const rows = b.labels.length;
  const vmax = Math.max(1e-9, ...b.values.flat(), ...k.values.flat());
  const labelW = textWidth('x'.repeat(10), SCALE);
  const gap = 12;
  const panelW = Math.floor((WIDTH - 2 * MARGIN - labelW - 2 * gap) / 2);
  const cellW = Math.max(6, Math.min(40, Math.floor(panelW / L)));
  const cellH = LINE_H;
  const titleLines = wrapText(labels.title, charsIn(WIDTH - 2 * MARGIN)).slice(0, 3);
  const head = MARGIN + titleLines.length * LINE_H + 6;
  const gridTop = head + LINE_H + 16;
  const height = gridTop + rows * cellH + 20 + 16 + 2 * LINE_H + MARGIN;
  const c = new Canvas(WIDTH, height);
  titleLines.forEach((l, i) => c.text(l, MARGIN, MARGIN + i * LINE_H, INK, SCALE));
  const x0 = MARGIN + labelW + gap;
  const panels = [{ name: labels.base, v: b.values, x: x0 }, { name: labels.cls, v: k.values, x: x0 + L * cellW + gap }];
  for (const p of panels) {
    fitText(c, p.name, p.x + (L * cellW) / 2, head, L * cellW, INK, SCALE, 'center');
    for (let l = 0; l < L; l++) {
      if (L <= 12 || l % 2 === 0) c.text(String(l + 1), Math.round(p.x + l * cellW + cellW / 2), head + LINE_H + 2, MUTED, 1, 'center');
      for (let r = 0; r < rows; r++) {
        const fill = sequential(p.v[r][l], vmax);
        c.fillRect(p.x + l * cellW, gridTop + r * cellH, cellW - 1, cellH - 1, fill);
        if (cellW >= 36) c.text(`${Math.round(p.v[r][l] * 100)}`, Math.round(p.x + l * cellW + cellW / 2), gridTop + r * cellH + 6, inkOn(fill), 1, 'center');
      }
    }
  }
  for (let r = 0; r < rows; r++) {
    const chosen = r === rows - 1;
    fitText(c, (chosen ? '>' : '') + b.labels[r], MARGIN + labelW, gridTop + r * cellH + 2, labelW, chosen ? INK : r === 0 && b.labels[0].startsWith('…') ? MUTED : INK, SCALE, 'right');
  }
  c.hline(MARGIN, WIDTH - MARGIN, gridTop + (rows - 1) * cellH - 1, RULE);
  const ly = gridTop + rows * cellH + 8;
  fitText(c, labels.layers, MARGIN, ly, WIDTH - 2 * MARGIN, MUTED, 1);
  colourBar(c, MARGIN, ly + 16, WIDTH - 2 * MARGIN, 12, (t) => sequential(t, 1));
  c.text('0', MARGIN, ly + 32, INK, SCALE);
  c.text(`${(vmax * 100).toFixed(0)}%`, WIDTH - MARGIN, ly + 32, INK, SCALE, 'right');
  fitText(c, labels.legend.replace('{max}', `${(vmax * 100).toFixed(0)}%`), WIDTH / 2, ly + 32 + LINE_H, WIDTH - 2 * MARGIN, MUTED, 1, 'center');
  return c.toPng();
}
