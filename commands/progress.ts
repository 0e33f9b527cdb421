/**
 * The single training progress message: a text bar with step/total, loss, tokens/s and ETA, edited at most once
 * every `intervalMs` (by the injected clock) and always once more at the end.
 */
import type { TrainProgress } from '../core/engine.ts';
import type { Clock } from '../core/store/types.ts';
import { formatDuration, formatNumber, formatPercent, type Locale } from './messages.ts';
import type { Logger, MessageHandle, OutgoingMessage, Services } from './types.ts';

export function progressBar(fraction: number, width = 20): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export function renderProgress(services: Services, run: { id: number; lines: number }, p: TrainProgress): string {
  const locale: Locale = services.locale;
  const fraction = p.totalSteps > 0 ? p.step / p.totalSteps : 0;
  return services.t('train.progress', {
    run: run.id,
    lines: run.lines,
    bar: progressBar(fraction),
    percent: formatPercent(locale, fraction),
    step: p.step,
    total: p.totalSteps,
    epoch: formatNumber(locale, p.epoch, 2),
    loss: formatNumber(locale, p.loss, 3),
    tps: formatNumber(locale, p.tokensPerSecond, 0),
    eta: p.step > 0 && Number.isFinite(p.etaSeconds) ? formatDuration(p.etaSeconds) : services.t('time.unknown'),
  });
}

export interface ProgressReporter {
  /** Shows `p` now if the last edit is at least `intervalMs` old; otherwise keeps it for later. Never throws. */
  update(p: TrainProgress): void;
  /** The final edit, after every pending one; always happens. */
  finish(message: OutgoingMessage): Promise<void>;
  /** Number of edits sent so far (finish included). */
  readonly edits: number;
}

export interface ProgressReporterOptions {
  handle: MessageHandle;
  clock: Clock;
  intervalMs: number;
  render(p: TrainProgress): OutgoingMessage;
  logger: Logger;
  /** finish() waits at most this long for the platform (default 15 s); the edit goes on in the background. */
  finishTimeoutMs?: number;
}

export function createProgressReporter(o: ProgressReporterOptions): ProgressReporter {
  let chain: Promise<void> = Promise.resolve();
  let lastEditAt: number | undefined;
  let inFlight = false;
  let pending: TrainProgress | undefined;
  let finished = false;
  let edits = 0;

  const send = (message: OutgoingMessage): Promise<void> => {
    edits++;
    chain = chain.then(async () => {
      try {
        await o.handle.edit(message);
      } catch (e) {
        o.logger.warn(`progress: could not edit message ${o.handle.id}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return chain;
  };

  const due = (): boolean => lastEditAt === undefined || o.clock.now() - lastEditAt >= o.intervalMs;

  const flush = (): void => {
    if (finished || inFlight || pending === undefined || !due()) return;
    const p = pending;
    pending = undefined;
    lastEditAt = o.clock.now();
    inFlight = true;
    void send(o.render(p)).then(() => {
      inFlight = false;
    });
  };

  return {
    update(p) {
      if (finished) return;
      pending = p;
      flush();
    },
    async finish(message) {
      finished = true;
      pending = undefined;
      // The job (and the lane behind it) never waits long for a slow or retrying platform.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          o.logger.warn(`progress: message ${o.handle.id} still not edited after ${o.finishTimeoutMs ?? 15_000} ms; carrying on`);
          resolve();
        }, o.finishTimeoutMs ?? 15_000);
      });
      await Promise.race([send(message), bound]);
      clearTimeout(timer);
    },
    get edits() {
      return edits;
    },
  };
}
