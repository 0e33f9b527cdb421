/**
 * Which finished run is the class model (what /story, /score, /status and the model views use). Two decisions can
 * name it, and the newer one wins:
 * - an ordinary /train that finished (a /sweep's runs never become the class model by themselves);
 * - `/usar run:#id`, which pins one finished run of the class (a sweep's or not) at the time it was said.
 * So after `/usar run:#5` the class uses run 5 until a later /train finishes, or the teacher chooses again.
 */
import type { RunRow } from './types.ts';

export function pickClassModel(chosen: { run: RunRow; at: number } | undefined, newestOrdinary: RunRow | undefined): RunRow | undefined {
  const pinned = chosen && chosen.run.status === 'done' ? chosen : undefined;
  if (!pinned) return newestOrdinary;
  if (!newestOrdinary) return pinned.run;
  return (newestOrdinary.finishedAt ?? 0) > pinned.at ? newestOrdinary : pinned.run;
}
