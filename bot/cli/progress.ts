/**
 * Terminal progress for training and downloads (stderr, so --json stdout stays clean). On a TTY one line that
 * fits the terminal's width and redraws in place; elsewhere (a log file, CI) plain lines.
 */
import type { TrainProgress } from '../../core/engine.ts';
import { unit, type HubProgress } from '../../core/model/hub.ts';

export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** Characters on screen (every glyph we print is one column wide). */
const columnsOf = (s: string) => [...s].length;

/**
 * The fields joined by " · " after a bar: the bar shrinks (down to 10 cells) and the least important fields
 * (the last ones) go before the line would exceed `columns`; a line that still does not fit is cut with "…".
 */
export function fitLine(fraction: number, fields: string[], columns: number): string {
  const room = Math.max(20, columns - 1); // the last column stays free: writing into it wraps on some terminals
  let kept = [...fields];
  for (;;) {
    const text = kept.join(' · ');
    const barWidth = Math.min(24, room - columnsOf(text) - 1);
    if (barWidth >= 10) return `${bar(fraction, barWidth)} ${text}`;
    if (kept.length <= 2) break;
    kept = kept.slice(0, -1);
  }
  const line = `${bar(fraction, 10)} ${kept.join(' · ')}`;
  return columnsOf(line) <= room ? line : [...line].slice(0, room - 1).join('') + '…';
}

export function trainLine(p: TrainProgress, columns = 80): string {
  const loss = Number.isFinite(p.loss) ? p.loss.toFixed(4) : '—';
  // most important first: what is left to drop is at the end
  return fitLine(p.step / p.totalSteps, [
    `paso ${p.step}/${p.totalSteps}`, `loss ${loss}`, `ETA ${formatSeconds(p.etaSeconds)}`,
    `${p.tokensPerSecond.toFixed(0)} tok/s`, `época ${p.epoch.toFixed(2)}`, `lr ${p.learningRate.toExponential(2)}`,
  ], columns);
}

export function downloadLine(p: HubProgress, columns = 80): string {
  const fraction = p.total ? p.bytes / p.total : 0;
  const size = p.total === null ? unit(p.bytes) : `${unit(p.bytes)} / ${unit(p.total)}`;
  const percent = p.total ? `${Math.floor(fraction * 100)} %` : '';
  return fitLine(fraction, [`${p.file} ${percent}`.trim(), size, `${unit(p.bytesPerSecond)}/s`], columns);
}

/**
 * A status line writer. On a TTY each line replaces the previous one (cut to the terminal width, so it never
 * wraps and piles up); elsewhere every line is printed on its own, at most every `everyMs` (0: all of them),
 * and always the final one.
 */
export function statusWriter(stream: NodeJS.WriteStream, now: () => number, everyMs = 0): (line: string | ((columns: number) => string), final?: boolean) => void {
  let last = -Infinity;
  return (line, final = false) => {
    if (stream.isTTY) {
      const columns = stream.columns || 80;
      const text = typeof line === 'function' ? line(columns) : line;
      const cut = columnsOf(text) >= columns ? [...text].slice(0, columns - 2).join('') + '…' : text;
      stream.write(`\r\x1b[2K${cut}${final ? '\n' : ''}`);
    } else if (final || now() - last >= everyMs) {
      stream.write((typeof line === 'function' ? line(Infinity) : line) + '\n');
      last = now();
    }
  };
}
