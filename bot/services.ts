/** Builds the concrete `Services` that every command receives (the same function wires tests with fakes). */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { translator } from '../commands/messages.ts';
import { PollMessages } from '../commands/poll-messages.ts';
import type { Logger, Services } from '../commands/types.ts';
import type { AppConfig } from '../config/index.ts';
import type { ComputeClient, TextService } from '../core/jobs/types.ts';
import type { Rng } from '../core/sample/rng.ts';
import type { AsyncStore } from '../core/store/async-store.ts';
import type { Clock } from '../core/store/types.ts';

export interface CreateServicesOptions {
  config: AppConfig;
  compute: ComputeClient;
  text: TextService;
  store: AsyncStore;
  clock: Clock;
  /** Seeded generator (core/sample/rng.ts createRng) for poll order and story seeds. */
  random: Rng;
  logger?: Logger;
  /** Default: host:pid:random. */
  frontEndId?: string;
  /** Downloads (a teacher's text by URL or attachment); default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** One line per event on stderr, with an ISO timestamp from the given clock. */
export function consoleLogger(clock: Clock, write: (line: string) => void = (l) => console.error(l)): Logger {
  const stamp = () => new Date(clock.now()).toISOString();
  const detail = (e: unknown) => (e === undefined ? '' : `: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return {
    info: (m) => write(`${stamp()} info  ${m}`),
    warn: (m) => write(`${stamp()} warn  ${m}`),
    error: (m, e) => write(`${stamp()} error ${m}${detail(e)}`),
  };
}

export function createServices(o: CreateServicesOptions): Services {
  const locale = o.config.locale;
  return {
    compute: o.compute,
    text: o.text,
    store: o.store,
    config: o.config,
    locale,
    t: translator(locale),
    clock: o.clock,
    rng: o.random,
    logger: o.logger ?? consoleLogger(o.clock),
    pollMessages: new PollMessages(),
    frontEndId: o.frontEndId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
}
