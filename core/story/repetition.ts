/**
 * Whether a story repeats itself ("y el caballero dijo que el caballero dijo que…"): the share of its word
 * trigrams that already appeared earlier in it. The notebook's fix is a higher repetition_penalty or top_p.
 */

/** Below this many trigrams a story is too short to call repetitive. */
const MIN_TRIGRAMS = 8;
/** A story whose trigrams are at least this share repeats is called repetitive. */
export const REPETITIVE_SHARE = 0.3;

/** Share (0–1) of word trigrams that are repeats of an earlier one; 0 for very short texts. */
export function repetitionShare(text: string): number {
  const words = text.toLocaleLowerCase('es').match(/[\p{L}\p{N}]+/gu) ?? [];
  const total = words.length - 2;
  if (total < MIN_TRIGRAMS) return 0;
  const seen = new Set<string>();
  let repeats = 0;
  for (let i = 0; i < total; i++) {
    const key = `${words[i]} ${words[i + 1]} ${words[i + 2]}`;
    if (seen.has(key)) repeats++;
    else seen.add(key);
  }
  return repeats / total;
}

export function isRepetitive(text: string): boolean {
  return repetitionShare(text) >= REPETITIVE_SHARE;
}
