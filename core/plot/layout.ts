/**
 * Shared pieces of the inspection pictures: text wrapping in font cells, colour scales (diverging and
 * sequential) and their legend bars. Pictures are drawn 520 px wide (Discord's preview) with text at scale 2.
 */
import { Canvas, type Rgb } from './canvas.ts';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, textWidth } from './font.ts';

export const WIDTH = 520;
export const SCALE = 2;
export const MARGIN = 14;
export const LINE_H = GLYPH_HEIGHT * SCALE + 4;
export const INK: Rgb = [34, 34, 34];
export const MUTED: Rgb = [110, 110, 110];
export const RULE: Rgb = [210, 210, 210];

/** Characters that fit in `px` pixels at `scale`. */
export function charsIn(px: number, scale = SCALE): number {
  return Math.max(1, Math.floor((px + scale) / (GLYPH_ADVANCE * scale)));
}

/** Word-wraps `text` (its own line breaks kept) into lines of at most `max` characters; long words are cut. */
export function wrapText(text: string, max: number): string[] {
  const out: string[] = [];
  for (const para of text.normalize('NFC').split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      let w = word;
      while (Array.from(w).length > max) {
        if (line) { out.push(line); line = ''; }
        const cs = Array.from(w);
        out.push(cs.slice(0, max).join(''));
        w = cs.slice(max).join('');
      }
      const next = line ? `${line} ${w}` : w;
      if (Array.from(next).length > max) { out.push(line); line = w; } else line = next;
    }
    out.push(line);
  }
  while (out.length > 1 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Cuts `s` to `max` characters with a trailing "…". */
export function ellipsize(s: string, max: number): string {
  const cs = Array.from(s);
  return cs.length <= max ? s : cs.slice(0, Math.max(0, max - 1)).join('') + '…';
}

const lerp = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t)) as unknown as Rgb;

const COOL: Rgb = [33, 102, 172]; // the base model expected it more
const WARM: Rgb = [202, 64, 20]; // the class model expects it more
const NEUTRAL: Rgb = [247, 247, 247];

/** Diverging scale: v / limit in [−1, 1] → blue … white … orange-red (clamped). NaN → light grey. */
export function diverging(v: number | null, limit: number): Rgb {
  if (v === null || !Number.isFinite(v)) return [225, 225, 225];
  const t = Math.max(-1, Math.min(1, v / limit));
  return t >= 0 ? lerp(NEUTRAL, WARM, t) : lerp(NEUTRAL, COOL, -t);
}

const SEQ_LO: Rgb = [255, 255, 255];
const SEQ_HI: Rgb = [63, 0, 125];

/** Sequential scale: v / max in [0, 1] → white … deep purple. */
export function sequential(v: number, max: number): Rgb {
  const t = max > 0 ? Math.max(0, Math.min(1, v / max)) : 0;
  return lerp(SEQ_LO, SEQ_HI, t);
}

/** Dark text on light fills, white on dark ones. */
export function inkOn(fill: Rgb): Rgb {
  const lum = 0.2126 * fill[0] + 0.7152 * fill[1] + 0.0722 * fill[2];
  return lum < 140 ? [255, 255, 255] : INK;
}

/** A horizontal colour bar from `x` to `x + w` for t in [0, 1] with a frame. */
export function colourBar(c: Canvas, x: number, y: number, w: number, h: number, colour: (t: number) => Rgb): void {
  for (let i = 0; i < w; i++) c.fillRect(x + i, y, 1, h, colour(w === 1 ? 0 : i / (w - 1)));
  c.hline(x, x + w - 1, y, MUTED); c.hline(x, x + w - 1, y + h - 1, MUTED);
  c.vline(x, y, y + h - 1, MUTED); c.vline(x + w - 1, y, y + h - 1, MUTED);
}

/** Text that is cut with "…" to fit `px` pixels. */
export function fitText(c: Canvas, s: string, x: number, y: number, px: number, colour: Rgb, scale = SCALE, align: 'left' | 'center' | 'right' = 'left'): void {
  let t = s;
  if (textWidth(t, scale) > px) t = ellipsize(t, charsIn(px, scale));
  c.text(t, Math.round(x), Math.round(y), colour, scale, align); // whole pixels: Canvas indexes its buffer with them
}

/** How a token is shown in a label: line breaks as "⏎"-free "\n", leading spaces kept as one space. */
export function tokenLabel(piece: string): string {
  return piece.replace(/\n/g, '\\n').replace(/\t/g, ' ').replace(/\r/g, '');
}
