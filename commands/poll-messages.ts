/**
 * Live poll messages: the handle of each poll's message (to edit its vote count and close it on /reveal) and a
 * per-poll chain so that edits never overtake each other (the last edit always shows the latest tally).
 * Handles live in memory; after a restart `reattach` (set by bot/start.ts from the poll's stored channel and
 * message id) rebuilds one through the platform, and a click on one of its buttons brings one back too.
 */
import type { MessageHandle } from './types.ts';

export class PollMessages {
  private readonly handles = new Map<number, MessageHandle>();
  private readonly chains = new Map<number, Promise<void>>();
  private reattach: ((pollId: number) => MessageHandle | undefined) | null = null;

  /** How to rebuild a handle for a poll whose message was posted before this process started. */
  setReattach(fn: (pollId: number) => MessageHandle | undefined): void {
    this.reattach = fn;
  }

  remember(pollId: number, handle: MessageHandle): void {
    this.handles.set(pollId, handle);
  }

  get(pollId: number): MessageHandle | undefined {
    const known = this.handles.get(pollId);
    if (known || !this.reattach) return known;
    const rebuilt = this.reattach(pollId);
    if (rebuilt) this.handles.set(pollId, rebuilt);
    return rebuilt;
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
