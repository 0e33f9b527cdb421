/** After each training: prune the class's old run folders (KEEP_RUNS, core/store/prune.ts). Never throws. */
import { pruneRunFolders } from '../core/store/prune.ts';
import type { Services } from './types.ts';

export async function pruneClassRuns(s: Services, classId: number): Promise<void> {
  const cls = await s.store.getClass(classId);
  if (!cls) return;
  try {
    const { removed } = await pruneRunFolders(s.store, s.config.dataDir, cls, s.config.keepRuns);
    if (removed.length > 0) s.logger.info(`KEEP_RUNS=${s.config.keepRuns}: removed ${removed.length} old run folder(s): ${removed.join(', ')}`);
  } catch (e) {
    s.logger.warn(`could not prune old run folders of class ${classId}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
