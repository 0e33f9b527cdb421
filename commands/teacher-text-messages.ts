/** What the class is told about a teacher's text: each refusal names the limit it broke; an accepted text, its encoding. */
import type { TeacherText, TeacherTextRefusal } from '../core/text/teacher-text.ts';
import { formatNumber } from './messages.ts';
import type { Services } from './types.ts';

const mb = (services: Pick<Services, 'locale'>, bytes: number) => formatNumber(services.locale, bytes / (1024 * 1024), 1);

export function teacherTextRefusal(services: Pick<Services, 't' | 'locale'>, r: TeacherTextRefusal, filename: string): string {
  const t = services.t;
  switch (r.reason) {
    case 'too-big':
      // just over the limit rounds to the limit itself: say "más de 2 MB", never "ocupa 2 MB y el límite es 2 MB"
      return t('teacherText.tooBig', { file: filename, size: mb(services, r.bytes) === mb(services, r.max) ? `${t('teacherText.moreThan')} ${mb(services, r.max)}` : mb(services, r.bytes), max: mb(services, r.max) });
    case 'zip':
      return t('teacherText.zip', { file: filename });
    case 'binary':
      return t('teacherText.binary', { file: filename, kind: r.kind });
    case 'empty':
      return t('teacherText.empty', { file: filename });
    case 'encoding':
      return t(r.detail === 'utf-16' ? 'teacherText.utf16' : 'teacherText.encoding', { file: filename });
    case 'few-lines':
      return t('teacherText.fewLines', { file: filename, lines: r.lines, min: r.min });
  }
}

export function teacherTextAccepted(services: Services, text: TeacherText, filename: string): string {
  return services.t(text.gutenberg ? 'teacherText.acceptedGutenberg' : 'teacherText.accepted', {
    file: filename,
    lines: text.lines.length,
    encoding: text.encoding === 'utf-8' ? 'UTF-8' : 'Latin-1 (ISO-8859-1)',
  });
}
