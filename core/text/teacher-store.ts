/**
 * Where a class keeps the teacher's texts: DATA_DIR/classes/<class>/textos/<sha256>.txt, the checked lines in
 * UTF-8 named by their content hash (the same text uploaded twice is stored once). Written to a temporary file
 * and renamed, so a half-written text never exists. Only texts that passed readTeacherText get here.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Place } from '../place.ts';
import { classDir } from '../store/paths.ts';

export interface StoredTeacherText {
  hash: string;
  file: string;
}

export function teacherTextHash(lines: readonly string[]): string {
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}

export function teacherTextFile(dataDir: string, place: Place, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new RangeError(`not a sha256 hash: ${hash}`);
  return path.join(classDir(dataDir, place), 'textos', `${hash}.txt`);
}

export function storeTeacherText(dataDir: string, place: Place, lines: readonly string[]): StoredTeacherText {
  const hash = teacherTextHash(lines);
  const file = teacherTextFile(dataDir, place, hash);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${lines.join('\n')}\n`, 'utf8');
    renameSync(tmp, file);
  }
  return { hash, file };
}

export function loadTeacherText(dataDir: string, place: Place, hash: string): string[] {
  return readFileSync(teacherTextFile(dataDir, place, hash), 'utf8').split('\n').filter((l) => l.length > 0);
}
