/** Who is calling and where: Discord interaction → Caller / Place. */
import { GuildMember, PermissionFlagsBits, type ButtonInteraction, type ChatInputCommandInteraction, type SendableChannels } from 'discord.js';
import type { Caller, Place } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

/**
 * A teacher has a role whose name equals `teacherRole` (case-insensitive), or Manage Guild / Administrator
 * in this channel (the interaction's member.permissions bitfield; `has` counts Administrator as every permission).
 */
export function isTeacher(i: Repliable, teacherRole: string): boolean {
  if (i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  const wanted = teacherRole.trim().toLowerCase();
  const member = i.member;
  if (!member || !wanted) return false;
  const names =
    member instanceof GuildMember
      ? member.roles.cache.map((r) => r.name)
      : member.roles.map((id) => i.guild?.roles.cache.get(id)?.name ?? '');
  return names.some((n) => n.trim().toLowerCase() === wanted);
}

export function callerOf(i: Repliable, teacherRole: string): Caller {
  const member = i.member;
  const displayName =
    member instanceof GuildMember ? member.displayName : (member?.nick ?? i.user.globalName ?? i.user.username);
  return { id: i.user.id, displayName, isTeacher: isTeacher(i, teacherRole) };
}

export function placeOf(i: Repliable): Place | null {
  if (!i.guildId || !i.channelId) return null;
  return { platform: 'discord', teamId: i.guildId, channelId: i.channelId };
}

/** The interaction's channel, fetched when the cache does not have it. */
export async function sendableChannel(i: Repliable): Promise<SendableChannels> {
  const channel = i.channel ?? (i.channelId ? await i.client.channels.fetch(i.channelId) : null);
  if (!channel?.isSendable()) {
    throw new QuijoteError('NOT_FOUND', `No puedo escribir en el canal ${i.channelId ?? '(desconocido)'}.`, {
      hint: 'Comprueba que el bot tiene permiso para ver el canal y enviar mensajes en él.',
    });
  }
  return channel;
}
