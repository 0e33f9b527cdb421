/** Command specs (platform-neutral) → Discord application command JSON (API v10). */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Command, OptionSpec } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';

/**
 * Manage Guild ("32"): what Discord would require by default if teacher commands were registered with
 * `default_member_permissions`. They are NOT: a teacher who only has TEACHER_ROLE would not even see /train and
 * /reveal until an admin added an override. Every command is registered visible to all members, and the handler
 * refuses non-teachers (router.ts and commands/respond.ts requireTeacher check the role or Manage Guild).
 */
export const TEACHER_PERMISSIONS = PermissionFlagsBits.ManageGuild.toString();

const NAME = /^[-_\p{Ll}\p{N}]{1,32}$/u;

export function toApplicationCommand(cmd: Command): RESTPostAPIChatInputApplicationCommandsJSONBody {
  check(cmd.name, cmd.description, `/${cmd.name}`);
  return {
    type: ApplicationCommandType.ChatInput,
    name: cmd.name,
    description: cmd.description,
    options: cmd.options.map((o) => toOption(o, cmd.name)),
    default_member_permissions: null, // visible to everyone; teacher-only commands are checked in the handler
    contexts: [InteractionContextType.Guild],
  };
}

export function toApplicationCommands(cmds: Command[]): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const seen = new Set<string>();
  for (const c of cmds) {
    if (seen.has(c.name)) throw new QuijoteError('BAD_CONFIG', `El comando /${c.name} está definido dos veces.`, { hint: 'Cada comando necesita un nombre único.' });
    seen.add(c.name);
  }
  return cmds.map(toApplicationCommand);
}

function toOption(o: OptionSpec, cmd: string): APIApplicationCommandBasicOption {
  check(o.name, o.description, `/${cmd} ${o.name}`);
  const base = { name: o.name, description: o.description, required: o.required ?? false };
  switch (o.type) {
    case 'string':
      return { ...base, type: ApplicationCommandOptionType.String, min_length: o.min, max_length: o.max };
    case 'integer':
      return { ...base, type: ApplicationCommandOptionType.Integer, min_value: o.min, max_value: o.max };
    case 'number':
      return { ...base, type: ApplicationCommandOptionType.Number, min_value: o.min, max_value: o.max };
  }
}

function check(name: string, description: string, where: string): void {
  if (!NAME.test(name)) {
    throw new QuijoteError('BAD_CONFIG', `Nombre no válido para Discord en ${where}: «${name}».`, {
      hint: 'Usa de 1 a 32 caracteres en minúscula, cifras, «-» o «_».',
    });
  }
  if (description.length < 1 || description.length > 100) {
    throw new QuijoteError('BAD_CONFIG', `La descripción de ${where} tiene ${description.length} caracteres; Discord admite de 1 a 100.`, {
      hint: 'Acórtala en la definición del comando.',
    });
  }
}
