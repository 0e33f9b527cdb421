/** Command specs (platform-neutral) → Discord application command JSON (API v10). */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { lookup, type Locale } from '../../commands/messages.ts';
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

/** Discord's client locales that each of our catalogue's languages covers. */
export const DISCORD_LOCALES: Record<Locale, string[]> = { es: ['es-ES', 'es-419'], en: ['en-US', 'en-GB'] };

/**
 * description_localizations for a catalogue key (cmd.<name>.description, cmd.<name>.opt.<option>): every
 * Discord locale of every language the catalogue has, so each member sees the descriptions in their client's
 * language whatever LOCALE the bot runs in.
 */
function localizations(key: string, where: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [locale, discordLocales] of Object.entries(DISCORD_LOCALES) as Array<[Locale, string[]]>) {
    const text = lookup(locale, key);
    if (text === undefined) continue;
    checkDescription(text, `${where} (${locale})`);
    for (const l of discordLocales) out[l] = text;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function toApplicationCommand(cmd: Command): RESTPostAPIChatInputApplicationCommandsJSONBody {
  check(cmd.name, cmd.description, `/${cmd.name}`);
  return {
    type: ApplicationCommandType.ChatInput,
    name: cmd.name,
    description: cmd.description,
    description_localizations: localizations(`cmd.${cmd.name}.description`, `/${cmd.name}`),
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
  const base = {
    name: o.name,
    description: o.description,
    description_localizations: localizations(`cmd.${cmd}.opt.${o.name}`, `/${cmd} ${o.name}`),
    required: o.required ?? false,
  };
  switch (o.type) {
    case 'string':
      return { ...base, type: ApplicationCommandOptionType.String, min_length: o.min, max_length: o.max };
    case 'integer':
      return { ...base, type: ApplicationCommandOptionType.Integer, min_value: o.min, max_value: o.max };
    case 'number':
      return { ...base, type: ApplicationCommandOptionType.Number, min_value: o.min, max_value: o.max };
    case 'attachment':
      return { ...base, type: ApplicationCommandOptionType.Attachment };
  }
}

function check(name: string, description: string, where: string): void {
  if (!NAME.test(name)) {
    throw new QuijoteError('BAD_CONFIG', `Nombre no válido para Discord en ${where}: «${name}».`, {
      hint: 'Usa de 1 a 32 caracteres en minúscula, cifras, «-» o «_».',
    });
  }
  checkDescription(description, where);
}

function checkDescription(description: string, where: string): void {
  if (description.length < 1 || description.length > 100) {
    throw new QuijoteError('BAD_CONFIG', `La descripción de ${where} tiene ${description.length} caracteres; Discord admite de 1 a 100.`, {
      hint: 'Acórtala en la definición del comando.',
    });
  }
}
