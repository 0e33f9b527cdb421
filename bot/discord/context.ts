/** Discord interactions → the platform-neutral CommandContext / ButtonContext. */
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { ButtonContext, CommandContext, InteractionContext, MessageHandle, OutgoingMessage, Place, Services } from '../../commands/types.ts';
import { callerOf, sendableChannel } from './caller.ts';
import { toEditPayload, toPayload } from './payload.ts';
import { Responder } from './responder.ts';

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

export interface ContextDeps {
  services: Services;
  teacherRole: string;
}

function baseContext(i: Repliable, place: Place, r: Responder, deps: ContextDeps): InteractionContext {
  return {
    place,
    user: callerOf(i, deps.teacherRole),
    services: deps.services,
    defer: (options) => r.defer(options),
    reply: (msg) => r.reply(msg),
    post: (msg) => post(i, msg),
  };
}

export function commandContext(i: ChatInputCommandInteraction, place: Place, r: Responder, deps: ContextDeps): CommandContext {
  const options: Record<string, string | number | undefined> = {};
  for (const o of i.options.data) {
    if (typeof o.value === 'string' || typeof o.value === 'number') options[o.name] = o.value;
  }
  return { ...baseContext(i, place, r, deps), commandName: i.commandName, options };
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

/** An ordinary channel message sent with the bot token: it outlives the interaction token (15 minutes). */
async function post(i: Repliable, msg: OutgoingMessage): Promise<MessageHandle> {
  const channel = await sendableChannel(i);
  const sent = await channel.send(toPayload(msg));
  return { id: sent.id, edit: async (next) => void (await sent.edit(toEditPayload(next))) };
}
