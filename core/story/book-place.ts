/**
 * Where a line of the book is: its part ("Primera parte"), its chapter ("Capítulo IV") and its line number
 * (1-based, among the body lines — the same numbering as the training lines, which are the first N). Headings
 * are read from the lines themselves; the body starts at "Capítulo primero", inside the first part.
 */

export interface BookPlace {
  part: string; // e.g. "Primera parte", "Segunda parte"
  chapter: string; // e.g. "Capítulo primero", "Capítulo IV"; "" before the first chapter heading
  line: number; // 1-based
  /** Set when the line is not the Quijote's but a teacher's text's (its file name); `line` is then its line there. */
  text?: string;
}

const PART = /^(Primera|Segunda|Tercera|Cuarta) parte del ingenioso (hidalgo|caballero)/;
const CHAPTER = /^(Capítulo [^.\s]+)/;

/** A lookup from line index (0-based) to its place, for one list of lines. */
export function bookPlaces(lines: readonly string[]): (index: number) => BookPlace | null {
  // The 1615 volume restarts its own numbering of parts ("Segunda parte del ingenioso caballero"): keep its name.
  const parts: string[] = [];
  const chapters: string[] = [];
  let part = 'Primera parte', chapter = '';
  for (const line of lines) {
    const p = PART.exec(line);
    if (p) part = p[2] === 'caballero' ? 'Segunda parte (1615)' : `${p[1]} parte`;
    const c = CHAPTER.exec(line);
    if (c) chapter = c[1];
    parts.push(part);
    chapters.push(chapter);
  }
  return (index) => (Number.isInteger(index) && index >= 0 && index < lines.length ? { part: parts[index], chapter: chapters[index], line: index + 1 } : null);
}
