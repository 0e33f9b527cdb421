/**
 * The async contract over today's SQLite store: every call runs synchronously on better-sqlite3 (one process, one
 * connection, transactions that never interleave) and resolves at once.
 */
import type { AsyncStore } from './async-store.ts';
import { openStore, type OpenStoreOptions, type Store } from './store.ts';

type Wrapped = Omit<AsyncStore, 'kind' | 'appliedMigrations' | 'close'>;

/** Tails of the per-poll lock chains, by database file and poll (':memory:' stores share one, harmlessly). */
const pollLocks = new Map<string, Promise<void>>();

export class SqliteAsyncStore implements AsyncStore {
  readonly kind = 'sqlite' as const;
  readonly appliedMigrations: number[];
  readonly file: string;

  constructor(readonly sync: Store) {
    this.appliedMigrations = sync.appliedMigrations;
    this.file = sync.file;
  }

  async close(): Promise<void> { this.sync.close(); }

  findClass: Wrapped['findClass'] = async (p) => this.sync.findClass(p);
  ensureClass: Wrapped['ensureClass'] = async (p) => this.sync.ensureClass(p);
  getClass: Wrapped['getClass'] = async (id) => this.sync.getClass(id);
  createRun: Wrapped['createRun'] = async (i) => this.sync.createRun(i);
  getRun: Wrapped['getRun'] = async (id) => this.sync.getRun(id);
  markRunRunning: Wrapped['markRunRunning'] = async (id) => this.sync.markRunRunning(id);
  completeRun: Wrapped['completeRun'] = async (id, r) => this.sync.completeRun(id, r);
  endRun: Wrapped['endRun'] = async (id, s, e) => this.sync.endRun(id, s, e);
  latestDoneRun: Wrapped['latestDoneRun'] = async (c) => this.sync.latestDoneRun(c);
  activeRuns: Wrapped['activeRuns'] = async (c) => this.sync.activeRuns(c);
  classModelRun: Wrapped['classModelRun'] = async (c) => this.sync.classModelRun(c);
  chooseClassModel: Wrapped['chooseClassModel'] = async (c, r) => this.sync.chooseClassModel(c, r);
  createSweep: Wrapped['createSweep'] = async (i) => this.sync.createSweep(i);
  getSweep: Wrapped['getSweep'] = async (id) => this.sync.getSweep(id);
  endSweep: Wrapped['endSweep'] = async (id, s, e) => this.sync.endSweep(id, s, e);
  sweepRuns: Wrapped['sweepRuns'] = async (id) => this.sync.sweepRuns(id);
  listRuns: Wrapped['listRuns'] = async (c) => this.sync.listRuns(c);
  unfinishedRuns: Wrapped['unfinishedRuns'] = async () => this.sync.unfinishedRuns();
  recoverInterruptedRuns: Wrapped['recoverInterruptedRuns'] = async () => this.sync.recoverInterruptedRuns();
  createDelivery: Wrapped['createDelivery'] = async (i) => this.sync.createDelivery(i);
  getDelivery: Wrapped['getDelivery'] = async (r) => this.sync.getDelivery(r);
  claimDelivery: Wrapped['claimDelivery'] = async (r, b, l) => this.sync.claimDelivery(r, b, l);
  renewDelivery: Wrapped['renewDelivery'] = async (r, b, l) => this.sync.renewDelivery(r, b, l);
  recordDelivery: Wrapped['recordDelivery'] = async (r, b, st) => this.sync.recordDelivery(r, b, st);
  finishDelivery: Wrapped['finishDelivery'] = async (r, b) => this.sync.finishDelivery(r, b);
  pendingDeliveries: Wrapped['pendingDeliveries'] = async () => this.sync.pendingDeliveries();
  /** SQLite serves one process: an in-process lock per database file and poll. */
  withPollLock: Wrapped['withPollLock'] = (pollId, fn) => {
    const key = `${this.file}#${pollId}`;
    const run = (pollLocks.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(() => undefined, () => undefined);
    pollLocks.set(key, tail);
    void tail.then(() => { if (pollLocks.get(key) === tail) pollLocks.delete(key); });
    return run;
  };
  createStory: Wrapped['createStory'] = async (i) => this.sync.createStory(i);
  getStory: Wrapped['getStory'] = async (id) => this.sync.getStory(id);
  createPoll: Wrapped['createPoll'] = async (i) => this.sync.createPoll(i);
  getPoll: Wrapped['getPoll'] = async (id) => this.sync.getPoll(id);
  setPollMessage: Wrapped['setPollMessage'] = async (p, c, m) => this.sync.setPollMessage(p, c, m);
  discardUnpostedPoll: Wrapped['discardUnpostedPoll'] = async (p) => this.sync.discardUnpostedPoll(p);
  latestOpenPoll: Wrapped['latestOpenPoll'] = async (c) => this.sync.latestOpenPoll(c);
  listPolls: Wrapped['listPolls'] = async (c) => this.sync.listPolls(c);
  closePoll: Wrapped['closePoll'] = async (p) => this.sync.closePoll(p);
  castVote: Wrapped['castVote'] = async (p, u, c) => this.sync.castVote(p, u, c);
  getVote: Wrapped['getVote'] = async (p, u) => this.sync.getVote(p, u);
  pollVotes: Wrapped['pollVotes'] = async (p) => this.sync.pollVotes(p);
  tally: Wrapped['tally'] = async (p) => this.sync.tally(p);
}

export function openSqliteAsyncStore(options: OpenStoreOptions): SqliteAsyncStore {
  return new SqliteAsyncStore(openStore(options));
}
