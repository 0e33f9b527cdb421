/** Discord interactions → the platform-neutral CommandContext / ButtonContext. */
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { ButtonContext, CommandContext, IncomingFile, InteractionContext, Place, Services } from '../../commands/types.ts';
import { callerOf } from './caller.ts';
import { postToChannel } from './post.ts';
import { Responder } from './responder.ts';
import type { AdapterTexts } from './texts.ts';

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

export interface ContextDeps {
  services: Services;
  teacherRole: string;
  texts: AdapterTexts;
  log?: (line: string) => void;
}

function baseContext(i: Repliable, place: Place, r: Responder, deps: ContextDeps): InteractionContext {
  return {
    place,
    user: callerOf(i, deps.teacherRole),
    services: deps.services,
    defer: (options) => r.defer(options),
    reply: (msg) => r.reply(msg),
    post: (msg) => postToChannel(i, msg, deps.texts, deps.log),
  };
}

export function commandContext(i: ChatInputCommandInteraction, place: Place, r: Responder, deps: ContextDeps): CommandContext {
  const options: Record<string, string | number | undefined> = {};
  const files: Record<string, IncomingFile> = {};
  for (const o of i.options.data) {
    if (o.attachment) {
      // an attachment option's value is the attachment's id; the file itself is on Discord's CDN (a public URL)
      const a = o.attachment;
      files[o.name] = { name: a.name, size: Number.isFinite(a.size) ? a.size : null, url: a.url, contentType: a.contentType ?? null };
    } else if (typeof o.value === 'string' || typeof o.value === 'number') options[o.name] = o.value;
  }
  return { ...baseContext(i, place, r, deps), commandName: i.commandName, options, ...(Object.keys(files).length > 0 ? { files } : {}) };
}

export function buttonContext(i: ButtonInteraction, place: Place, r: Responder, deps: ContextDeps): ButtonContext {
  const [, ...args] = i.customId.split(':');
  return {
    ...baseContext(i, place, r, deps),
    customId: i.customId,
    args,
    message: { id: i.message.id, edit: (msg) => r.editClicked(msg) },
  };
}
