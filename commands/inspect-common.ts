/**
 * What the model-inspection commands share: the class model they compare with the base, one queued job per
 * view (its own place in the queue, cancellable with /cancel), and small in-memory state for buttons (the
 * /siguiente context, films and their votes), bounded and lost on restart (the buttons then say so).
 */
import { isQuijoteError, QuijoteError } from '../core/errors.ts';
import type { InspectParams, InspectResultOf } from '../core/inspect/requests.ts';
import type { RunRow } from '../core/store/types.ts';
import { admission } from './admission.ts';
import { clip, errorDetail, placeLabel, positionText, replyFailure } from './respond.ts';
import type { InteractionContext, MessageHandle, Services } from './types.ts';

export interface ClassModel { classId: number; run: RunRow; modelDir: string }

/** The class's latest trained model, or undefined (after telling the user to /train first). */
export async function classModelOr(ctx: InteractionContext): Promise<ClassModel | undefined> {
  const s = ctx.services;
  const cls = await s.store.findClass(ctx.place);
  const run = cls ? await s.store.classModelRun(cls.id) : undefined;
  if (!cls || !run?.modelDir) {
    await ctx.reply({ text: s.t('story.notTrained'), ephemeral: true });
    return undefined;
  }
  return { classId: cls.id, run, modelDir: run.modelDir };
}

/** Errors the user has already been told about (by inspectJob), so the command's catch stays quiet. */
const reported = new WeakSet<object>();

/**
 * Submits one view as an 'inspect' job to compute (its own place in the fair, bounded queue; /cancel stops it),
 * replies with its queue position, and returns that reply (to be edited with the result) and the result.
 * `ephemeral`: the notice is for the caller only (a button that edits its own message). On failure the notice
 * itself becomes the reason.
 */
export async function inspectJob<P extends InspectParams>(ctx: InteractionContext, label: string, params: P, opts: { ephemeral?: boolean; command: string }): Promise<{ handle: MessageHandle; value: InspectResultOf<P['view']> }> {
  const s = ctx.services;
  const slot = admission(s).admit(ctx.user.id);
  if (!slot.ok) {
    await ctx.reply({ text: slot.text, ephemeral: true });
    const refused = new QuijoteError('BUSY', slot.text);
    reported.add(refused);
    throw refused;
  }
  let handle: MessageHandle;
  let result: Promise<unknown>;
  try {
    await ctx.defer();
    const job = s.compute.submit({ kind: 'inspect', params, place: ctx.place, owner: { id: ctx.user.id, name: ctx.user.displayName }, label: clip(label, 40) });
    slot.ticket.bind(job);
    result = job.result;
    result.catch(() => undefined); // awaited below, after the notice is out
    handle = await ctx.reply({ text: s.t('inspect.working', { position: await positionText(s, job.info.id) }), ephemeral: opts.ephemeral });
  } catch (e) {
    slot.ticket.release();
    throw e;
  }
  try {
    const value = (await result) as InspectResultOf<P['view']>;
    if (value.view !== params.view) throw new QuijoteError('INTERNAL', `inspect: asked for ${params.view}, got ${value.view}`);
    return { handle, value };
  } catch (e) {
    if (isQuijoteError(e)) {
      const shown = await handle.edit({ text: s.t('common.failed', { command: opts.command, detail: errorDetail(s, e) }) }).then(() => true, () => false);
      if (shown) {
        reported.add(e);
        s.logger.warn(`/${opts.command} by ${ctx.user.id} in ${placeLabel(ctx.place)}: ${e.code}: ${e.message}`);
      }
    }
    throw e;
  }
}

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
