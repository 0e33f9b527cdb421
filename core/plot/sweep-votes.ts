/**
 * After the reveal of a /sweep's last poll: which values won the class's votes. One horizontal bar per value (its
 * colour as on the sweep card): the share of the votes that went to its fine-tuned story, with chance (50 %) as a
 * dashed line. 520 px wide, text at scale 2; every word comes from the caller's catalogue.
 */
import { Canvas } from './canvas.ts';
import { textWidth } from './font.ts';
import { charsIn, fitText, INK, LINE_H, MARGIN, MUTED, RULE, SCALE, WIDTH, wrapText } from './layout.ts';
import { SWEEP_COLOURS } from './sweep-card.ts';

export interface SweepVoteRow {
  label: string;
  /** 0–1, null when nobody voted in its poll. */
  share: number | null;
  /** e.g. "3 de 5 (60 %)" */
  text: string;
}

export interface SweepVotesData {
  title: string;
  rows: SweepVoteRow[];
  labels: { axis: string; chance: string; footer: string };
}

const BAR_H = 18;
const ROW = LINE_H + BAR_H + 12;
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

export function renderSweepVotes(d: SweepVotesData): Buffer {
  const max = charsIn(WIDTH - 2 * MARGIN);
  const title = wrapText(d.title, max).slice(0, 3);
  const footer = wrapText(d.labels.footer, max).slice(0, 4);
  const axis = wrapText(plain(d.labels.axis), max).slice(0, 2);
  const top = MARGIN + title.length * LINE_H + 4 + axis.length * LINE_H + 8;
  const bottom = top + d.rows.length * ROW;
  const height = bottom + LINE_H + 8 + footer.length * LINE_H + MARGIN;
  const c = new Canvas(WIDTH, height);
  title.forEach((l, i) => c.text(plain(l), MARGIN, MARGIN + i * LINE_H, INK, SCALE));
  axis.forEach((l, i) => fitText(c, l, MARGIN, MARGIN + (title.length + i) * LINE_H + 4, WIDTH - 2 * MARGIN, MUTED, SCALE));
  const barX = MARGIN + 22;
  const barMax = WIDTH - MARGIN - barX;
  d.rows.forEach((r, i) => {
    const y = top + i * ROW;
    const colour = SWEEP_COLOURS[i % SWEEP_COLOURS.length];
    c.fillRect(MARGIN, y + 3, 16, 14, colour);
    const valueW = textWidth(plain(r.text), SCALE);
    fitText(c, plain(r.label), barX, y, barMax - valueW - 12, INK, SCALE);
    c.text(plain(r.text), WIDTH - MARGIN, y, r.share === null ? MUTED : INK, SCALE, 'right');
    const by = y + LINE_H;
    c.fillRect(barX, by, barMax, BAR_H, [238, 238, 238]);
    const w = r.share !== null && Number.isFinite(r.share) ? Math.round(Math.max(0, Math.min(1, r.share)) * barMax) : 0;
    if (w > 0) c.fillRect(barX, by, w, BAR_H, colour);
    c.hline(barX, barX + barMax - 1, by + BAR_H, RULE);
  });
  const chanceX = barX + Math.round(barMax / 2);
  for (let y = top + LINE_H - 4; y < bottom; y += 8) c.vline(chanceX, y, Math.min(bottom - 1, y + 4), [214, 39, 40], 2);
  c.text(plain(d.labels.chance), chanceX, bottom, [214, 39, 40], SCALE, 'center');
  footer.forEach((l, i) => c.text(plain(l), MARGIN, bottom + LINE_H + 8 + i * LINE_H, MUTED, SCALE));
  return c.toPng();
}
