/**
 * The base model's download on a first `npm start`, in the bot's language: a log line at most every few seconds
 * (and when a file completes), and the line /status shows while it lasts (ComputeClient.describe()).
 */
import { formatNumber, formatPercent, t, type Locale } from '../commands/messages.ts';
import type { Logger } from '../commands/types.ts';
import type { HubProgress } from '../core/model/hub.ts';
import type { Clock } from '../core/store/types.ts';

/** "45,2 MB" / "45.2 MB": sizes with the locale's decimal separator. */
export function formatBytes(locale: Locale, n: number): string {
  if (n >= 1e9) return `${formatNumber(locale, n / 1e9, 2)} GB`;
  if (n >= 1e6) return `${formatNumber(locale, n / 1e6, 1)} MB`;
  if (n >= 1e3) return `${formatNumber(locale, n / 1e3, 1)} kB`;
  return `${Math.round(n)} B`;
}

function vars(locale: Locale, p: HubProgress) {
  return {
    file: p.file,
    percent: p.total ? formatPercent(locale, Math.min(1, p.bytes / p.total)) : '…',
    done: formatBytes(locale, p.bytes),
    total: p.total === null ? '?' : formatBytes(locale, p.total),
    speed: formatBytes(locale, p.bytesPerSecond),
  };
}

export function downloadStatusLine(locale: Locale, p: HubProgress): string {
  const { file, percent, done, total } = vars(locale, p);
  return t(locale, 'download.status', { file, percent, done, total });
}

/** What defaultCreateCompute hands the process transport: log lines every `everyMs` and the /status line. */
export function downloadReporting(locale: Locale, logger: Logger, clock: Clock, everyMs = 5000) {
  let last = -Infinity;
  let lastFile = '';
  return {
    onDownload(p: HubProgress): void {
      const complete = p.total !== null && p.bytes >= p.total;
      const now = clock.now();
      if (!complete && p.file === lastFile && now - last < everyMs) return;
      last = now;
      lastFile = p.file;
      logger.info(t(locale, 'download.progress', vars(locale, p)));
    },
    downloadStatus: (p: HubProgress) => downloadStatusLine(locale, p),
  };
}
