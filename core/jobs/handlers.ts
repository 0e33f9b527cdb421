/**
 * What each kind of job does with the engine, inside the compute process. One function per kind; the queue
 * decides when they run, the executor turns their outcome into messages.
 */
import type { Engine, TrainProgress } from '../engine.ts';
import { QuijoteError } from '../errors.ts';
import type { JobKind, JobParamsByKind, JobResultByKind } from './protocol.ts';
import type { JobRunContext } from './types.ts';
import { noInspector, runInspect } from '../inspect/requests.ts';

export interface HandlerContext extends JobRunContext {
  onProgress(progress: TrainProgress): void;
  onSaved(info: { modelDir: string; evalLossBefore: number }): void;
}

type Handler<K extends JobKind> = (engine: Engine, params: JobParamsByKind[K], ctx: HandlerContext) => Promise<JobResultByKind[K]>;

function stopIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof QuijoteError ? signal.reason : new QuijoteError('CANCELLED', 'The job was cancelled.');
}

const train: Handler<'train'> = (engine, p, ctx) =>
  engine.train({ lines: p.lines, epochs: p.epochs, lr: p.lr, seed: p.seed, ...(p.text ? { text: p.text } : {}) }, p.outDir, {
    onProgress: ctx.onProgress,
    onSaved: ctx.onSaved,
    signal: ctx.signal,
    slice: ctx.slice,
  });

const story: Handler<'story'> = async (engine, p, ctx) => {
  const options = { seed: p.seed, sampling: p.sampling, slice: ctx.slice, signal: ctx.signal };
  const base = await engine.story(p.prompt, null, options);
  stopIfCancelled(ctx.signal);
  const tuned = await engine.story(p.prompt, p.modelDir, options);
  stopIfCancelled(ctx.signal);
  return { base, tuned };
};

const score: Handler<'score'> = async (engine, p, ctx) => {
  const base = await engine.score(p.text, null, { slice: ctx.slice });
  stopIfCancelled(ctx.signal);
  const tuned = p.modelDir ? await engine.score(p.text, p.modelDir, { slice: ctx.slice }) : null;
  return { base, tuned };
};

const inspect: Handler<'inspect'> = async (engine, p, ctx) => {
  if (!engine.inspect) throw noInspector();
  stopIfCancelled(ctx.signal);
  const result = await runInspect(engine.inspect, p, { slice: ctx.slice, signal: ctx.signal });
  stopIfCancelled(ctx.signal);
  return result;
};

const handlers: { [K in JobKind]: Handler<K> } = { train, story, score, inspect };

export function runHandler<K extends JobKind>(engine: Engine, kind: K, params: JobParamsByKind[K], ctx: HandlerContext): Promise<JobResultByKind[K]> {
  return (handlers[kind] as Handler<K>)(engine, params, ctx);
}
