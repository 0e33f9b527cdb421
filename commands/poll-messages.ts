/**
 * Live poll messages: the handle of each poll's message (to edit its vote count and close it on /reveal) and a
 * per-poll chain so that edits never overtake each other (the last edit always shows the latest tally).
 * In memory only: after a restart a poll's handle comes back with the next click on one of its buttons.
 */
import type { MessageHandle } from './types.ts';

export class PollMessages {
  private readonly handles = new Map<number, MessageHandle>();
  private readonly chains = new Map<number, Promise<void>>();

  remember(pollId: number, handle: MessageHandle): void {
    this.handles.set(pollId, handle);
  }

  get(pollId: number): MessageHandle | undefined {
    return this.handles.get(pollId);
  }

  forget(pollId: number): void {
    this.handles.delete(pollId);
  }

  /** Runs `fn` after every earlier edit of the same poll; a failed edit does not block later ones. */
  serialize(pollId: number, fn: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(pollId) ?? Promise.resolve();
    const next = previous.then(fn);
    const settled = next.catch(() => undefined);
    this.chains.set(pollId, settled);
    void settled.then(() => {
      if (this.chains.get(pollId) === settled) this.chains.delete(pollId);
    });
    return next;
  }
}
