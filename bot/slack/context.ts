/** Turns a Slack slash command or button click into the platform-neutral contexts of commands/types.ts. */
import type { RespondFn } from '@slack/bolt';
import { isQuijoteError } from '../../core/errors.ts';
import type { Caller, InteractionContext, MessageHandle, OutgoingMessage, Services } from '../../commands/types.ts';
import type { SlackFiles } from './files.ts';
import type { SlackIO } from './io.ts';
import type { TeacherCheck } from './teachers.ts';
import type { Texts } from './texts.ts';

export interface Deps {
  io: SlackIO;
  teachers: TeacherCheck;
  services: Services;
  texts: Texts;
  log: (line: string) => void;
  /** Files shared in a channel, passed to a command as a link (bot/slack/files.ts). */
  files?: SlackFiles;
}

/** Who clicked or typed, and where. */
export interface Origin {
  teamId: string;
  channelId: string;
  userId: string;
  userName: string;
  respond?: RespondFn;
}

export async function caller(deps: Deps, o: Origin): Promise<Caller> {
  return { id: o.userId, displayName: o.userName, isTeacher: await deps.teachers.isTeacher(o.userId) };
}

/** The adapter acks every Slack request as soon as it arrives, so defer() has nothing left to do. */
export function interaction(deps: Deps, o: Origin, user: Caller): InteractionContext {
  const send = (m: OutgoingMessage): Promise<MessageHandle> =>
    m.ephemeral ? deps.io.ephemeral(o.channelId, o.userId, m, o.respond) : deps.io.post(o.channelId, m);
  return {
    place: { platform: 'slack', teamId: o.teamId, channelId: o.channelId },
    user,
    services: deps.services,
    defer: async () => {},
    // Slack's response_url expires after 30 minutes / 5 uses, so replies are ordinary (editable) messages.
    reply: send,
    post: send,
  };
}

/** Runs a command or button handler; never throws. QuijoteErrors reach the user, anything else is logged. */
export async function safely(deps: Deps, o: Origin, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const known = isQuijoteError(e);
    if (!known) deps.log(`[slack] error en ${what} (usuario ${o.userId}, canal ${o.channelId}): ${(e as Error)?.stack ?? e}`);
    const text = known ? e.message : deps.texts.apology;
    try {
      await deps.io.ephemeral(o.channelId, o.userId, { text, ephemeral: true }, o.respond);
    } catch (e2) {
      deps.log(`[slack] no pude avisar al usuario ${o.userId}: ${(e2 as Error).message}`);
    }
  }
}
