/**
 * The class's polls as a CSV (RFC 4180: comma-separated, CRLF line ends, fields with quotes, commas or line breaks
 * quoted and inner quotes doubled), with a UTF-8 BOM so spreadsheets read the accents. Anonymous unless the
 * teacher asks for voter ids. Open polls stay blind: which story was fine-tuned is left empty until the reveal.
 */
import type { RunRow } from '../core/store/types.ts';
import type { Services } from './types.ts';

export const CSV_COLUMNS = [
  'fecha', 'votacion', 'estado', 'comienzo', 'entrenamiento', 'lineas', 'epocas', 'lr', 'semilla', 'metodo',
  'votos_a', 'votos_b', 'afinada', 'deteccion', 'texto', 'texto_sha256', 'mezcla',
] as const;

/** One field: quoted when it must be; a leading = + - @ (a spreadsheet formula) is defused with an apostrophe. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: ReadonlyArray<string | number | null | undefined>): string {
  return fields.map(csvField).join(',');
}

/** The CSV of every poll of the class; `withIds` adds a `votantes` column ("user:A; user:B"). */
export async function pollsCsv(services: Services, classId: number, options: { withIds: boolean }): Promise<string> {
  const s = services;
  const runs = new Map<number, RunRow>((await s.store.listRuns(classId)).map((r) => [r.id, r]));
  const header = options.withIds ? [...CSV_COLUMNS, 'votantes'] : [...CSV_COLUMNS];
  const lines = [csvLine(header)];
  for (const poll of await s.store.listPolls(classId)) {
    const run = runs.get(poll.runId);
    const tally = await s.store.tally(poll.id);
    const closed = poll.status === 'closed';
    const detected = closed && tally.total > 0 ? Number((tally[poll.finetunedChoice] / tally.total).toFixed(4)) : null;
    const row: Array<string | number | null | undefined> = [
      new Date(poll.createdAt).toISOString(), poll.id, closed ? 'revelada' : 'abierta', poll.prompt,
      poll.runId, run?.params.lines, run?.params.epochs, run?.params.lr, run?.params.seed ?? s.config.ml.seed, run?.metrics?.method,
      tally.A, tally.B, closed ? poll.finetunedChoice : null, detected,
      run?.params.text?.name, run?.params.text?.hash, run?.params.text?.mix, // the teacher's text the run mixed in, if any
    ];
    if (options.withIds) row.push((await s.store.pollVotes(poll.id)).map((v) => `${v.userId}:${v.choice}`).join('; '));
    lines.push(csvLine(row));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
