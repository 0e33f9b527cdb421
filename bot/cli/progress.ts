/** Terminal progress for training and downloads (stderr, so --json stdout stays clean). */
import type { TrainProgress } from '../../core/engine.ts';

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

export function trainLine(p: TrainProgress): string {
  const loss = Number.isFinite(p.loss) ? p.loss.toFixed(4) : '—';
  return `${bar(p.step / p.totalSteps)} paso ${p.step}/${p.totalSteps} · época ${p.epoch.toFixed(2)} · loss ${loss} · lr ${p.learningRate.toExponential(2)} · ${p.tokensPerSecond.toFixed(0)} tok/s · ETA ${formatSeconds(p.etaSeconds)}`;
}

/** Writes a line that replaces itself on a TTY and prints at most every `everyMs` elsewhere. */
export function statusWriter(stream: NodeJS.WriteStream, now: () => number, everyMs = 2000): (line: string, final?: boolean) => void {
  let last = -Infinity;
  return (line, final = false) => {
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    } else if (final || now() - last >= everyMs) {
      stream.write(line + '\n');
      last = now();
    }
  };
}
