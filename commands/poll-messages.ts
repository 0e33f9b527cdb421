/**
 * Live poll messages: the handle of each poll's message (to edit its vote count and close it on /reveal) and a
 * per-poll coalescing editor. At most one edit of a poll is in flight; every request that arrives meanwhile
 * collapses into ONE follow-up edit, which renders the state at the moment it starts (latest state wins). So a
 * click storm costs as many edits as the platform's rate limit lets through, not one per click, and nobody waits
 * for an edit they did not need: a vote's confirmation and /reveal's answer never wait behind vote edits.
 * Handles live in memory; after a restart `reattach` (set by bot/start.ts from the poll's stored channel and
 * message id) rebuilds one through the platform, and a click on one of its buttons brings one back too.
 */
import type { MessageHandle } from './types.ts';

interface Editor {
  busy: boolean;
  /** The newest requested edit not yet started (older ones are dropped: it re-reads the state anyway). */
  next: (() => Promise<void>) | null;
  /** Callers waiting for the edit that will start after their request. */
  waiters: (() => void)[];
}

export class PollMessages {
  private readonly handles = new Map<number, MessageHandle>();
  private readonly editors = new Map<number, Editor>();
  private reattach: ((pollId: number) => Promise<MessageHandle | undefined>) | null = null;
  /** Requests, edits started and failed edits retried, for logs and the load test. */
  readonly stats = { requested: 0, started: 0, retried: 0 };

  /**
   * `retryDelaysMs`: a failed edit with nothing newer behind it is tried again after these delays (a rate-limited
   * or dropped edit must not leave the message showing an old count).
   */
  constructor(private readonly retryDelaysMs: readonly number[] = [1000, 4000]) {}

  /** How to rebuild a handle for a poll whose message was posted before this process started. */
  setReattach(fn: (pollId: number) => Promise<MessageHandle | undefined>): void {
    this.reattach = fn;
  }

  remember(pollId: number, handle: MessageHandle): void {
    this.handles.set(pollId, handle);
  }

  /** Keeps the handle we have (the posted message's, edited with the bot token); else takes this one. */
  rememberIfMissing(pollId: number, handle: MessageHandle): void {
    if (!this.handles.has(pollId)) this.handles.set(pollId, handle);
  }

  /** The poll's handle; one posted before this process started is rebuilt from the store (it may reject then). */
  async get(pollId: number): Promise<MessageHandle | undefined> {
    const known = this.handles.get(pollId);
    if (known || !this.reattach) return known;
    const rebuilt = await this.reattach(pollId);
    if (rebuilt) return this.handles.get(pollId) ?? (this.handles.set(pollId, rebuilt), rebuilt);
    return undefined;
  }

  forget(pollId: number): void {
    this.handles.delete(pollId);
  }

  /** Whether an edit of this poll is in flight. */
  busy(pollId: number): boolean {
    return this.editors.get(pollId)?.busy ?? false;
  }

  /**
   * Asks for `edit` to run once no other edit of the poll is in flight; a newer request replaces it before it
   * starts. Resolves (never rejects: `edit` reports its own failures) once an edit requested at or after this
   * call has finished.
   */
  request(pollId: number, edit: () => Promise<void>): Promise<void> {
    this.stats.requested++;
    let ed = this.editors.get(pollId);
    if (!ed) {
      ed = { busy: false, next: null, waiters: [] };
      this.editors.set(pollId, ed);
    }
    ed.next = edit;
    const done = new Promise<void>((resolve) => ed.waiters.push(resolve));
    if (!ed.busy) void this.drain(pollId, ed);
    return done;
  }

  private async drain(pollId: number, ed: Editor): Promise<void> {
    ed.busy = true;
    let failures = 0;
    while (ed.next) {
      const edit = ed.next;
      const waiters = ed.waiters;
      ed.next = null;
      ed.waiters = [];
      this.stats.started++;
      try {
        await edit();
        failures = 0;
      } catch {
        // the edit logged its failure; try again later unless a newer request takes its place
        const delay = this.retryDelaysMs[failures++];
        if (delay !== undefined) {
          await new Promise((r) => setTimeout(r, delay));
          if (!ed.next) {
            ed.next = edit;
            this.stats.retried++;
          }
        } else failures = 0;
      }
      for (const w of waiters) w();
    }
    ed.busy = false;
    if (this.editors.get(pollId) === ed) this.editors.delete(pollId);
  }
}
