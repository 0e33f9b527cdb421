/**
 * Fake platform contexts for command tests: every defer, reply, post and edit is recorded (with the manual
 * clock's time), and `createTestServices` wires the real services (store, jobs, catalogue) around a FakeEngine.
 */
import { createServices } from '../../bot/services.ts';
import type {
  ButtonContext, Caller, CommandContext, Logger, MessageHandle, OutgoingMessage, Place, Services,
} from '../../commands/types.ts';
import { loadConfig } from '../../config/index.ts';
import { createLocalCompute } from '../../core/jobs/local-transport.ts';
import { createRng } from '../../core/sample/rng.ts';
import { openSqliteAsyncStore } from '../../core/store/sqlite-async.ts';
import { FakeEngine, type FakeEngineOptions } from './fake-engine.ts';

export class ManualClock {
  constructor(public time = Date.UTC(2025, 0, 15, 10, 0, 0)) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string, e?: unknown): void {
    this.lines.push(`error ${m}${e ? `: ${e instanceof Error ? e.message : String(e)}` : ''}`);
  }
}

/** A message the bot sent; `edits` are the later versions, `current` the latest one. */
export class RecordedMessage {
  readonly edits: OutgoingMessage[] = [];
  readonly editTimes: number[] = [];
  constructor(
    readonly id: string,
    readonly kind: 'reply' | 'post',
    readonly first: OutgoingMessage,
    readonly sentAt: number,
  ) {}
  get current(): OutgoingMessage {
    return this.edits.at(-1) ?? this.first;
  }
}

/** Everything the bot sent into one (fake) channel, in order; also the call log "defer", "reply", "post", "edit". */
export class FakeChannel {
  readonly messages: RecordedMessage[] = [];
  readonly calls: string[] = [];
  private seq = 0;
  constructor(readonly clock: ManualClock) {}

  get posts(): RecordedMessage[] {
    return this.messages.filter((m) => m.kind === 'post');
  }

  send(kind: 'reply' | 'post', message: OutgoingMessage): MessageHandle {
    const rec = new RecordedMessage(`m${++this.seq}`, kind, message, this.clock.now());
    this.messages.push(rec);
    this.calls.push(kind);
    return this.handle(rec);
  }

  handle(rec: RecordedMessage): MessageHandle {
    return {
      id: rec.id,
      edit: async (m) => {
        rec.edits.push(m);
        rec.editTimes.push(this.clock.now());
        this.calls.push(`edit:${rec.id}`);
      },
    };
  }

  find(predicate: (text: string) => boolean): RecordedMessage | undefined {
    return this.messages.find((m) => predicate(m.current.text) || predicate(m.first.text));
  }
}

export const PLACE: Place = { platform: 'discord', teamId: 'T1', channelId: 'C1' };
export const TEACHER: Caller = { id: 'teacher1', displayName: 'Profe Ana', isTeacher: true };
export const STUDENT: Caller = { id: 'student1', displayName: 'Luis', isTeacher: false };
export const STUDENT2: Caller = { id: 'student2', displayName: 'Marta', isTeacher: false };

interface BaseFake {
  defers: Array<{ ephemeral?: boolean }>;
  replies: RecordedMessage[];
}

export type FakeCommandContext = CommandContext & BaseFake;
export type FakeButtonContext = ButtonContext & BaseFake;

function base(services: Services, channel: FakeChannel, user: Caller, place: Place): Omit<CommandContext, 'commandName' | 'options'> & BaseFake {
  const defers: Array<{ ephemeral?: boolean }> = [];
  const replies: RecordedMessage[] = [];
  return {
    place,
    user,
    services,
    defers,
    replies,
    async defer(options) {
      defers.push(options ?? {});
      channel.calls.push(options?.ephemeral ? 'defer:ephemeral' : 'defer');
    },
    async reply(message) {
      const h = channel.send('reply', message);
      replies.push(channel.messages.at(-1) as RecordedMessage);
      return h;
    },
    async post(message) {
      return channel.send('post', message);
    },
  };
}

export function commandContext(
  services: Services,
  channel: FakeChannel,
  commandName: string,
  options: Record<string, string | number | undefined> = {},
  user: Caller = TEACHER,
  place: Place = PLACE,
): FakeCommandContext {
  return { ...base(services, channel, user, place), commandName, options };
}

export function buttonContext(
  services: Services,
  channel: FakeChannel,
  customId: string,
  message: RecordedMessage,
  user: Caller = STUDENT,
  place: Place = PLACE,
): FakeButtonContext {
  const [, ...args] = customId.split(':');
  return { ...base(services, channel, user, place), customId, args, message: channel.handle(message) };
}

export interface TestServicesOptions {
  env?: Record<string, string>;
  engine?: FakeEngineOptions;
  seed?: number;
}

export interface TestRig {
  services: Services;
  engine: FakeEngine;
  clock: ManualClock;
  channel: FakeChannel;
  logger: RecordingLogger;
}

export function createTestRig(o: TestServicesOptions = {}): TestRig {
  const config = loadConfig({ DATA_DIR: '/tmp/quijote-test-data', PROGRESS_INTERVAL_MS: '1000', ...o.env });
  const clock = new ManualClock();
  const engine = new FakeEngine(o.engine);
  const logger = new RecordingLogger();
  const store = openSqliteAsyncStore({ dataDir: ':memory:', clock });
  let jobSeq = 0;
  const compute = createLocalCompute(engine, clock, { newId: () => String(++jobSeq) }); // readable ids: #1, #2…
  const services = createServices({ config, compute, text: engine, store, clock, random: createRng(o.seed ?? 7), logger });
  return { services, engine, clock, channel: new FakeChannel(clock), logger };
}

/** Lets queued promise callbacks (job continuations, edits) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Waits (real time, up to `ms`) until `predicate` holds: for work that leaves the event loop (a picture drawn on a worker thread). */
export async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
