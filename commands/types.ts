/**
 * Platform-neutral command contract. Discord and Slack adapters (bot/discord, bot/slack) turn platform events
 * into these contexts; commands never name Discord or Slack.
 */
import type { AppConfig } from '../config/index.ts';
import type { ComputeClient, TextService } from '../core/jobs/types.ts';
import type { Place } from '../core/place.ts';
import type { Rng } from '../core/sample/rng.ts';
import type { AsyncStore } from '../core/store/async-store.ts';
import type { Clock } from '../core/store/types.ts';
import type { Locale, Translate } from './messages.ts';
import type { PollMessages } from './poll-messages.ts';

/** `attachment`: a file the caller attaches (Discord's attachment option); it arrives in CommandContext.files. */
export type OptionType = 'string' | 'integer' | 'number' | 'attachment';

export interface OptionSpec {
  name: string;
  description: string; // Spanish, shown in the platform's UI
  type: OptionType;
  required?: boolean;
  min?: number;
  max?: number;
  /** A string option that may hold a link to a file shared on the platform (Slack resolves it into `files`). */
  acceptsFileLink?: boolean;
}

export interface ButtonSpec {
  /** custom id, at most 100 chars, "<handler>:<args...>" e.g. "vote:12:A", "reveal:12" */
  id: string;
  label: string;
  style?: 'primary' | 'secondary' | 'success' | 'danger';
}

export interface OutgoingMessage {
  text: string; // Markdown subset that both platforms render: **bold**, _italic_, `code`, line breaks
  buttons?: ButtonSpec[];
  image?: { filename: string; data: Buffer; alt: string }; // PNG
  /** A file to download (e.g. the CSV export); `description` says what it holds. */
  file?: { filename: string; data: Buffer; description: string };
  mentionUserId?: string; // adapters render a platform mention of this user at the start
  ephemeral?: boolean; // only the caller sees it (first reply / follow-up of an interaction only)
}

/** A message that can be edited later (progress bars, live vote counts). */
export interface MessageHandle {
  readonly id: string;
  edit(message: OutgoingMessage): Promise<void>;
}

export interface Caller {
  id: string;
  displayName: string;
  isTeacher: boolean; // adapters decide from platform roles/permissions/config
}

export type { Place } from '../core/place.ts';

export interface InteractionContext {
  place: Place;
  user: Caller;
  services: Services;
  /** Acknowledge now (Discord: deferReply within 3 s; Slack: ack). Idempotent. */
  defer(options?: { ephemeral?: boolean }): Promise<void>;
  /** The interaction's own response (or its edit after defer). Valid for ~15 minutes on Discord. */
  reply(message: OutgoingMessage): Promise<MessageHandle>;
  /** An ordinary channel message, not tied to the interaction token (for long-lived progress and polls). */
  post(message: OutgoingMessage): Promise<MessageHandle>;
}

export interface CommandContext extends InteractionContext {
  commandName: string;
  options: Record<string, string | number | undefined>;
  /** Files of `attachment` options (and files the platform shared that the adapter resolved), by option name. */
  files?: Readonly<Record<string, IncomingFile>>;
  /**
   * How to download `files`: the adapter's fetch, which may add the platform's credentials for its own file host
   * (never for other hosts). Absent: services.fetch.
   */
  fetchFile?: typeof fetch;
}

/** A file a caller attached or shared, as the adapter describes it (nothing is downloaded yet). */
export interface IncomingFile {
  name: string;
  /** Bytes, when the platform says; checked again while downloading. */
  size: number | null;
  url: string;
  contentType: string | null;
}

export interface ButtonContext extends InteractionContext {
  /** The full custom id clicked and its parts split on ":" */
  customId: string;
  args: string[];
  /** The message that holds the button; editing it updates the poll in place. */
  message: MessageHandle;
}

export interface Command {
  name: string;
  description: string;
  options: OptionSpec[];
  teacherOnly?: boolean; // checked by the adapters and the handler; still registered visible on Discord (see bot/discord/spec.ts)
  run(ctx: CommandContext): Promise<void>;
}

export interface ButtonHandler {
  prefix: string; // matches customId before the first ":"
  run(ctx: ButtonContext): Promise<void>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** Everything commands may use. Built once by bot/services.ts `createServices` (also in tests, with fakes). */
export interface Services {
  /** The one seam to the model: jobs as data, run by the compute process (bot/compute) or a worker. */
  compute: ComputeClient;
  /** The book's lines, without tensors (line limits, corpus traces). */
  text: TextService;
  /** SQLite (embedded, through core/store/sqlite-async.ts) or PostgreSQL (DATABASE_URL): always awaited. */
  store: AsyncStore;
  config: AppConfig;
  locale: Locale;
  /** The message catalogue bound to `locale`: t('story.notTrained'). */
  t: Translate;
  clock: Clock;
  /** Seeded generator for blind-poll order and story seeds. */
  rng: Rng;
  logger: Logger;
  /** Live handles of poll messages (to edit vote counts and close them on /reveal). */
  pollMessages: PollMessages;
  /** This front-end process, as it signs its claims in the store (result deliveries): host:pid:random. */
  frontEndId: string;
  /** Downloads (a teacher's text by URL): injected, globalThis.fetch in the bot. */
  fetch?: typeof fetch;
  [key: string]: unknown;
}

/**
 * What an adapter's start function returns: a running platform that can also write into a class channel
 * without an interaction (restart notices) and edit a message posted by an earlier process (polls).
 */
export interface PlatformRuntime {
  post(place: Place, message: OutgoingMessage): Promise<MessageHandle>;
  edit(channelId: string, messageId: string, message: OutgoingMessage): Promise<void>;
  stop(): Promise<void>;
}
