/**
 * A run's exact settings, as the results card lists them and `/train repetir:#id` reuses them: what the teacher
 * chose (lines, epochs, learning rate, the teacher's text and mix), the seed, and the bot's fixed training settings
 * from its configuration.
 */
import type { RunRow } from '../core/store/types.ts';
import { formatNumber } from './messages.ts';
import type { Services } from './types.ts';

/** "lines 500 · epochs 2 · lr 0,0001 · seed 42 · full · TRAIN_BS 2 × GRAD_ACCUM 4 · BLOCK_SIZE 128" */
export function runSettingsText(services: Services, run: RunRow): string {
  const p = run.params;
  const ml = services.config.ml;
  const parts = [
    `lines ${p.lines}`,
    `epochs ${p.epochs}`,
    `lr ${formatNumber(services.locale, p.lr, 8)}`,
    `seed ${p.seed ?? ml.seed}`,
  ];
  if (p.text) parts.push(`texto «${p.text.name}» (sha256 ${p.text.hash.slice(0, 12)}) · mezcla ${p.text.mix}`);
  if (run.metrics?.method) parts.push(run.metrics.method);
  parts.push(`TRAIN_BS ${ml.trainBatchSize} × GRAD_ACCUM ${ml.gradAccum}`, `BLOCK_SIZE ${ml.blockSize}`);
  return parts.join(' · ');
}

/** "#12", "12" or " #12 " → 12; undefined when it is not a run number. */
export function parseRunRef(raw: string | number | undefined): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const m = /^#?\s*(\d{1,9})$/.exec(String(raw).trim());
  return m ? Number(m[1]) : undefined;
}
