/**
 * A fair and bounded queue for story and score jobs, on the bot side: each person may have QUEUE_PER_USER jobs
 * waiting (default 2), and the whole bot QUEUE_MAX (default 40). A slot is reserved synchronously when a command
 * is accepted (so two quick commands cannot both slip past the limit), bound to the job once it is submitted, and
 * freed when the job starts running or ends. How long to wait is estimated from the jobs seen so far.
 */
import type { JobHandle, JobKind } from '../core/jobs/types.ts';
import type { Services } from './types.ts';

/** Assumed length of a story/score job before any has been timed. */
const DEFAULT_JOB_SECONDS = 30;

export type Admitted = { ok: true; ticket: Ticket };
export type Refused = { ok: false; text: string };

export interface Ticket {
  /** The job this slot belongs to: the slot is freed when it starts or ends. */
  bind(job: JobHandle<JobKind>): void;
  /** Frees the slot without a job (the command failed before submitting). Idempotent. */
  release(): void;
}

class Admission {
  private readonly waitingByUser = new Map<string, number>();
  private waiting = 0;
  private timedJobs = 0;
  private timedSeconds = 0;

  constructor(private readonly s: Services) {}

  admit(userId: string): Admitted | Refused {
    const q = this.s.config.queue;
    const mine = this.waitingByUser.get(userId) ?? 0;
    if (mine >= q.perUser) return { ok: false, text: this.s.t('queue.userLimit', { waiting: mine, max: q.perUser }) };
    if (this.waiting >= q.max) {
      const minutes = Math.max(1, Math.ceil((this.waiting * this.averageSeconds()) / 60));
      return { ok: false, text: this.s.t('queue.full', { waiting: this.waiting, minutes }) };
    }
    this.waiting++;
    this.waitingByUser.set(userId, mine + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.waiting--;
      const n = (this.waitingByUser.get(userId) ?? 1) - 1;
      if (n > 0) this.waitingByUser.set(userId, n);
      else this.waitingByUser.delete(userId);
    };
    return {
      ok: true,
      ticket: {
        release,
        bind: (job) => {
          let startedAt: number | undefined;
          job.onStarted((at) => {
            startedAt = at;
            release();
          });
          job.result.then(
            () => {
              if (startedAt !== undefined) this.time((this.s.clock.now() - startedAt) / 1000);
            },
            () => undefined,
          ).finally(release);
        },
      },
    };
  }

  /** Waiting slots right now (for tests and /status). */
  get size(): number {
    return this.waiting;
  }

  private time(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.timedJobs++;
    this.timedSeconds += seconds;
  }

  private averageSeconds(): number {
    return this.timedJobs > 0 ? this.timedSeconds / this.timedJobs : DEFAULT_JOB_SECONDS;
  }
}

const perServices = new WeakMap<Services, Admission>();

/** The bot's admission control (one per Services). */
export function admission(s: Services): Admission {
  let a = perServices.get(s);
  if (!a) {
    a = new Admission(s);
    perServices.set(s, a);
  }
  return a;
}
