/**
 * The GPU turn, shared fairly between classes. One task runs at a time. Classes take turns round-robin; in its
 * turn a class runs its oldest waiting story/score job, or else its training's next optimizer step. So a flood of
 * stories in class A delays class B's training by at most one story per step, and a story still waits for at
 * most one step of its own class's training (plus one turn of each other busy class).
 */
export type TurnKind = 'interactive' | 'step';

interface Task {
  id?: string;
  kind: TurnKind;
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface ClassQueue {
  interactive: Task[];
  steps: Task[];
}

export class FairGpu {
  private readonly classes = new Map<string, ClassQueue>();
  private ring: string[] = [];
  private turn = 0;
  private running = false;

  /** Queues `fn` for class `key`; rejects with the signal's reason if it is aborted before it starts. */
  add<T>(key: string, kind: TurnKind, fn: () => Promise<T>, opts: { id?: string; signal?: AbortSignal } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      const task: Task = { id: opts.id, kind, run: fn, resolve: resolve as (v: unknown) => void, reject, signal: opts.signal };
      let q = this.classes.get(key);
      if (!q) {
        q = { interactive: [], steps: [] };
        this.classes.set(key, q);
        this.ring.push(key);
      }
      (kind === 'interactive' ? q.interactive : q.steps).push(task);
      if (opts.signal) {
        task.onAbort = () => {
          const list = kind === 'interactive' ? q!.interactive : q!.steps;
          const i = list.indexOf(task);
          if (i >= 0) {
            list.splice(i, 1);
            reject(opts.signal!.reason);
          }
        };
        opts.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.pump();
    });
  }

  /** Waiting interactive job ids in the order they will start (the round-robin played forward). */
  pendingOrder(): string[] {
    const lists = this.ring.map((k) => {
      const q = this.classes.get(k)!;
      return { interactive: [...q.interactive], steps: q.steps.length };
    });
    const out: string[] = [];
    let i = this.turn;
    for (let left = lists.reduce((n, l) => n + l.interactive.length + l.steps, 0); left > 0; i++) {
      const l = lists[i % lists.length]!;
      if (l.interactive.length > 0) {
        const t = l.interactive.shift()!;
        if (t.id) out.push(t.id);
        left--;
      } else if (l.steps > 0) {
        l.steps--; // a training asks for its next step only after this one: at most one step per class per round
        left--;
      }
    }
    return out;
  }

  private pump(): void {
    if (this.running) return;
    const task = this.takeNext();
    if (!task) return;
    this.running = true;
    if (task.signal && task.onAbort) task.signal.removeEventListener('abort', task.onAbort);
    let started: Promise<unknown>;
    try {
      started = Promise.resolve(task.run()); // starts now, like p-queue: a job's start time is when it was free to run
    } catch (e) {
      started = Promise.reject(e);
    }
    started
      .then(task.resolve, task.reject)
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  private takeNext(): Task | undefined {
    this.ring = this.ring.filter((k) => {
      const q = this.classes.get(k)!;
      const busy = q.interactive.length > 0 || q.steps.length > 0;
      if (!busy) this.classes.delete(k);
      return busy;
    });
    if (this.ring.length === 0) return undefined;
    const index = this.turn % this.ring.length;
    const q = this.classes.get(this.ring[index]!)!;
    this.turn = index + 1;
    return q.interactive.shift() ?? q.steps.shift();
  }
}
