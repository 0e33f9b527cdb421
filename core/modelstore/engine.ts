/**
 * An Engine whose class models live in a shared model store (a worker's view, ROLE=worker). A training writes
 * into this machine's work folder and publishes the folder under the run's key; the run then points at the
 * store URI (file:///…/classes/<class>/run-<id>). Stories and scores take a URI and read it through the local
 * verified cache, so any worker serves any class. LoRA runs publish what the engine saved: adapter only.
 */
import path from 'node:path';
import type { Engine } from '../engine.ts';
import { localModelDir, type ModelStore } from './file-store.ts';

/** The bot's outDir (DATA_DIR/classes/<class>/run-<id>) as a store key: classes/<class>/run-<id>. */
export function modelKeyOf(outDir: string): string {
  const parts = outDir.split(/[\\/]+/).filter(Boolean);
  const i = parts.lastIndexOf('classes');
  if (i >= 0 && parts.length - i === 3) return parts.slice(i).join('/');
  return `jobs/${parts.at(-1)?.replace(/[^A-Za-z0-9_.-]/g, '_') || 'model'}`;
}

export function withModelStore(engine: Engine, store: ModelStore, workDir: string): Engine {
  const local = (ref: string | null) => (ref === null ? Promise.resolve(null) : localModelDir(ref, store));
  return {
    async train(params, outDir, options) {
      const key = modelKeyOf(outDir);
      const result = await engine.train(params, path.join(workDir, ...key.split('/')), options);
      return { ...result, modelDir: await store.publish(result.modelDir, key) };
    },
    story: async (prompt, modelDir, options) => engine.story(prompt, await local(modelDir), options),
    score: async (text, modelDir, options) => engine.score(text, await local(modelDir), options),
    trainingLines: (lines) => engine.trainingLines(lines),
    maxLines: () => engine.maxLines(),
    describe: () => engine.describe(),
  };
}
