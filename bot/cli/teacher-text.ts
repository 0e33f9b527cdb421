/**
 * `quijote train --teacher-text FILE [--mix 70]`: the same teacher text as /train's `archivo:` / `mezcla:`,
 * from a local file, checked by the same rules (core/text/teacher-text.ts) and refused with the same messages.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { translator } from '../../commands/messages.ts';
import { teacherTextRefusal } from '../../commands/teacher-text-messages.ts';
import type { AppConfig } from '../../config/index.ts';
import type { TrainingText } from '../../core/engine.ts';
import { QuijoteError } from '../../core/errors.ts';
import { DEFAULT_MIX } from '../../core/text/teacher-mix.ts';
import { teacherTextHash } from '../../core/text/teacher-store.ts';
import { readTeacherText } from '../../core/text/teacher-text.ts';
import type { Flags } from './args.ts';

/** The --teacher-text file as a training job's text, or undefined without the flag (then --mix is refused). */
export function teacherTextFromFlags(config: AppConfig, flags: Flags): TrainingText | undefined {
  const file = typeof flags['teacher-text'] === 'string' ? flags['teacher-text'] : undefined;
  const rawMix = typeof flags.mix === 'string' ? flags.mix : undefined;
  if (!file) {
    if (rawMix !== undefined) throw new QuijoteError('BAD_ARGUMENT', '--mix necesita --teacher-text FICHERO.', { hint: 'Ejemplo: quijote train --lines 100 --teacher-text mi-texto.txt --mix 70' });
    return undefined;
  }
  const mix = rawMix === undefined ? DEFAULT_MIX : Number(rawMix);
  if (!Number.isInteger(mix) || mix < 0 || mix > 100) throw new QuijoteError('BAD_ARGUMENT', `--mix debe ser un entero entre 0 y 100 (porcentaje de líneas del Quijote); recibido: ${rawMix}.`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new QuijoteError('BAD_ARGUMENT', `No puedo leer ${file}: ${(e as Error).message}`, { hint: 'Comprueba la ruta de --teacher-text.' });
  }
  const text = readTeacherText(bytes);
  if (!text.ok) throw new QuijoteError('BAD_ARGUMENT', teacherTextRefusal({ t: translator(config.locale), locale: config.locale }, text, basename(file)));
  return { hash: teacherTextHash(text.lines), name: basename(file), mix, lines: text.lines };
}
