/**
 * The GPU turn, shared fairly between classes. One task runs at a time. Classes take turns round-robin; in its
 * turn a class runs its oldest waiting story/score job, or else its training's next optimizer step. So a flood of
 * stories in class A delays class B's training by at most one story per step, and a story still waits for at
 * most one step of its own class's training (plus one turn of each other busy class).
 *
 * A training asks for its next step only after the previous one ended (progress, a tick of the event loop), so
 * between two steps there is a moment with no step waiting. Once another class has had its one story since a
 * training's last step, further stories of other classes wait for that training's next step, for at most
 * `graceMs` (the training may be saving or evaluating outside a step; then the others go on).
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

interface Training {
  /** Other classes' stories run since this training's last step. */
  othersSinceStep: number;
  /** The grace for its next step ran out: others may go on. */
  graceOver: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export class FairGpu {
  private readonly classes = new Map<string, ClassQueue>();
  private readonly trainings = new Map<string, Training>();
  private ring: string[] = [];
  private turn = 0;
  private running = false;

  constructor(private readonly graceMs = 250) {}

  /** A class's training started (true) or ended (false); only trainings hold others back between their steps. */
  training(key: string, active: boolean): void {
    const t = this.trainings.get(key);
    if (t?.timer) clearTimeout(t.timer);
    if (active) this.trainings.set(key, { othersSinceStep: 0, graceOver: false });
    else {
      this.trainings.delete(key);
      this.pump();
    }
  }

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
    const next = this.takeNext();
    if (!next) return;
    const { task, key } = next;
    this.running = true;
    if (task.kind === 'step') {
      const t = this.trainings.get(key);
      if (t) {
        if (t.timer) clearTimeout(t.timer);
        this.trainings.set(key, { othersSinceStep: 0, graceOver: false });
      }
    } else {
      for (const [k, t] of this.trainings) if (k !== key) t.othersSinceStep++;
    }
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

  /** The training (of another class than `key`) whose step is owed a turn before `key` may run a story. */
  private owedTo(key: string): [string, Training] | undefined {
    for (const [k, t] of this.trainings) {
      if (k === key || t.graceOver || t.othersSinceStep < 1) continue;
      if ((this.classes.get(k)?.steps.length ?? 0) > 0) continue; // its step is waiting: the round-robin gives it a turn
      return [k, t];
    }
    return undefined;
  }

  private takeNext(): { task: Task; key: string } | undefined {
    this.ring = this.ring.filter((k) => {
      const q = this.classes.get(k)!;
      const busy = q.interactive.length > 0 || q.steps.length > 0;
      if (!busy) this.classes.delete(k);
      return busy;
    });
    for (let i = 0; i < this.ring.length; i++) {
      const index = (this.turn + i) % this.ring.length;
      const key = this.ring[index]!;
      const q = this.classes.get(key)!;
      if (q.interactive.length > 0) {
        const owed = this.owedTo(key);
        if (owed) {
          this.waitForStep(owed[1]);
          if (q.steps.length === 0) continue;
          this.turn = index + 1;
          return { task: q.steps.shift()!, key };
        }
        this.turn = index + 1;
        return { task: q.interactive.shift()!, key };
      }
      if (q.steps.length > 0) {
        this.turn = index + 1;
        return { task: q.steps.shift()!, key };
      }
    }
    return undefined;
  }

  private waitForStep(t: Training): void {
    if (t.timer) return;
    t.timer = setTimeout(() => {
      t.graceOver = true;
      t.timer = undefined;
      this.pump();
    }, this.graceMs);
  }
}
