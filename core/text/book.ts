/**
 * The book's lines without any tensor: loaded once (local file, or Gutenberg cached under DATA_DIR) and cut by
 * the notebook's contract. The engine trains on them; the bot's text service answers /train's line limit and
 * /reveal's corpus traces from the same code, so the bot process never needs TensorFlow.js for them.
 */
import { join } from 'node:path';
import type { TextService } from '../jobs/types.ts';
import { extractBodyLines } from './gutenberg.ts';
import { loadBookText } from './source.ts';

export interface BookSettings {
  text: { file: string | null; url: string; startAt: RegExp | null };
  dataDir: string;
  /** The last `evalLines` lines are held out for evaluation. */
  evalLines: number;
}

export interface Book {
  lines: string[];
  /** Where the text came from (file path or URL), as the training summary records it. */
  source: string;
}

export type BookLoader = () => Promise<Book>;

/** Loads the book at most once; a failed load is retried by the next call. */
export function bookLoader(settings: Omit<BookSettings, 'evalLines'>, deps: { fetch?: typeof fetch } = {}): BookLoader {
  let book: Promise<Book> | null = null;
  return () => (book ??= (async () => {
    const { text, source } = await loadBookText({
      file: settings.text.file ?? undefined, url: settings.text.url, cacheDir: join(settings.dataDir, 'gutenberg'), fetch: deps.fetch,
    });
    return { lines: extractBodyLines(text, { source, startAt: settings.text.startAt ?? undefined }), source }; // undefined: "Capítulo primero"
  })().catch((e) => {
    book = null;
    throw e;
  }));
}

/** The bot's text service over the book (no tensors). */
export function createTextService(settings: BookSettings, deps: { fetch?: typeof fetch } = {}): TextService {
  const load = bookLoader(settings, deps);
  return {
    async maxLines() {
      return (await load()).lines.length - settings.evalLines;
    },
    async trainingLines(n) {
      return (await load()).lines.slice(0, n);
    },
  };
}
