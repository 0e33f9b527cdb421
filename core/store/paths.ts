/** Where each class keeps its fine-tuned models: DATA_DIR/classes/<platform>-<team>-<channel>/run-<id>. */
import path from 'node:path';
import type { Place } from '../place.ts';

export const STORE_FILE = 'quijote.sqlite';

/** Keeps ids safe as folder names (Discord ids are digits, Slack ids alphanumeric; anything else becomes "_"). */
function safe(part: string): string {
  const cleaned = part.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return cleaned.length > 0 ? cleaned : '_';
}

export function classDir(dataDir: string, place: Place): string {
  return path.join(dataDir, 'classes', `${safe(place.platform)}-${safe(place.teamId)}-${safe(place.channelId)}`);
}

export function runModelDir(dataDir: string, place: Place, runId: number): string {
  return path.join(classDir(dataDir, place), `run-${runId}`);
}
