/**
 * What the model-inspection commands share: the class model they compare with the base, one queued job per
 * view (its own place in the queue, cancellable with /cancel), and small in-memory state for buttons (the
 * /siguiente context, films and their votes), bounded and lost on restart (the buttons then say so).
 */
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import type { Inspector, SliceOption } from '../core/inspect/inspector.ts';
import type { RunRow } from '../core/store/types.ts';
import { clip, errorDetail, placeLabel, positionText, replyFailure } from './respond.ts';
import type { InteractionContext, MessageHandle, Services } from './types.ts';

export interface ClassModel { classId: number; run: RunRow; modelDir: string }

/** The class's latest trained model, or undefined (after telling the user to /train first). */
export async function classModelOr(ctx: InteractionContext): Promise<ClassModel | undefined> {
  const s = ctx.services;
  const cls = s.store.findClass(ctx.place);
  const run = cls ? s.store.latestDoneRun(cls.id) : undefined;
  if (!cls || !run?.modelDir) {
    await ctx.reply({ text: s.t('story.notTrained'), ephemeral: true });
    return undefined;
  }
  if (!s.engine.inspect) {
    await ctx.reply({ text: s.t('inspect.unavailable'), ephemeral: true });
    return undefined;
  }
  return { classId: cls.id, run, modelDir: run.modelDir };
}

/**
 * Queues `work` as one 'inspect' job, replies with its queue position, and returns that reply (to be edited with
 * the result) and the result. `ephemeral`: the notice is for the caller only (a button that edits its own message).
 */
export async function inspectJob<T>(ctx: InteractionContext, label: string, work: (inspector: Inspector, o: SliceOption) => Promise<T>, opts: { ephemeral?: boolean; command?: string } = {}): Promise<{ handle: MessageHandle; value: T }> {
  const s = ctx.services;
  const inspector = s.engine.inspect;
  if (!inspector) throw new QuijoteError('INTERNAL', 'the engine has no inspector');
  const job = s.jobs.submit({
    kind: 'inspect',
    ownerId: ctx.user.id,
    ownerName: ctx.user.displayName,
    place: ctx.place,
    label: clip(label, 40),
    run: ({ slice, signal }) => {
      if (signal.aborted) throw new QuijoteError('CANCELLED', 'cancelled');
      return work(inspector, { slice });
    },
  });
  const handle = await ctx.reply({ text: s.t('inspect.working', { position: positionText(s, job.info.id) }), ephemeral: opts.ephemeral });
  try {
    return { handle, value: await job.result };
  } catch (e) {
    // the "looking…" message becomes the answer: what went wrong, in the user's words
    if (isQuijoteError(e)) {
      const shown = await handle.edit({ text: s.t('common.failed', { command: opts.command ?? 'inspect', detail: errorDetail(s, e) }) }).then(() => true, () => false);
      if (shown) {
        reported.add(e);
        s.logger.warn(`/${opts.command ?? 'inspect'} by ${ctx.user.id} in ${placeLabel(ctx.place)}: ${e.code}: ${e.message}`);
      }
    }
    throw e;
  }
}

const reported = new WeakSet<object>();

/** The catch of an inspection command: tells the caller unless inspectJob already did. */
export async function inspectFailure(ctx: InteractionContext, command: string, e: unknown): Promise<void> {
  if (typeof e === 'object' && e !== null && reported.has(e)) return;
  await replyFailure(ctx, command, e);
}

/** A bounded map for button state (oldest entries go first). */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  private next = 0;
  constructor(private readonly limit: number) {}
  add(value: V): string {
    const id = (this.next++).toString(36);
    this.map.set(id, value);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
    return id;
  }
  get(id: string): V | undefined {
    return this.map.get(id);
  }
}

/** Button state lives with the services (one bot, one set). */
const states = new WeakMap<Services, Map<string, BoundedMap<unknown>>>();
export function stateOf<V>(s: Services, name: string, limit = 200): BoundedMap<V> {
  let all = states.get(s);
  if (!all) states.set(s, (all = new Map()));
  let m = all.get(name);
  if (!m) all.set(name, (m = new BoundedMap<unknown>(limit)));
  return m as BoundedMap<V>;
}
