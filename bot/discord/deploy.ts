/** Registers the slash commands with Discord: per guild (instant) or global (may take up to an hour to show). */
import { REST, Routes } from 'discord.js';
import type { Command } from '../../commands/types.ts';
import { QuijoteError } from '../../core/errors.ts';
import { toApplicationCommands } from './spec.ts';

export interface DeployOptions {
  token: string;
  appId: string;
  /** Register in this guild; ignored when `global` is true. */
  guildId?: string;
  global?: boolean;
  commands: Command[];
  /** REST base URL (a fake Discord in tests). */
  rest?: { api: string };
}

export interface DeployResult {
  scope: 'global' | 'guild';
  route: string;
  names: string[];
}

export interface DeployPlan {
  scope: 'global' | 'guild';
  route: `/${string}`;
  /** The JSON that is PUT to `route`. */
  body: ReturnType<typeof toApplicationCommands>;
}

/** What a deploy would send where, checked, without a token or the network (`deploy-commands --dry-run`). */
export function deployPlan(o: Omit<DeployOptions, 'token' | 'rest'>): DeployPlan {
  if (!o.global && !o.guildId) {
    throw new QuijoteError('BAD_CONFIG', 'No sé en qué servidor registrar los comandos: DISCORD_GUILD_ID está vacío.', {
      hint: 'Define DISCORD_GUILD_ID en .env o usa --global.',
    });
  }
  const appId = o.appId || 'DISCORD_APP_ID';
  return {
    scope: o.global ? 'global' : 'guild',
    route: o.global ? Routes.applicationCommands(appId) : Routes.applicationGuildCommands(appId, o.guildId!),
    body: toApplicationCommands(o.commands),
  };
}

export async function deployCommands(o: DeployOptions): Promise<DeployResult> {
  if (!o.token || !o.appId) {
    throw new QuijoteError('BAD_CONFIG', 'Faltan DISCORD_TOKEN o DISCORD_APP_ID para registrar los comandos.', {
      hint: 'Cópialos del Developer Portal de Discord a tu archivo .env.',
    });
  }
  const { body, route } = deployPlan(o);
  const rest = new REST({ version: '10', ...(o.rest ? { api: o.rest.api } : {}) }).setToken(o.token);
  try {
    await rest.put(route, { body });
  } catch (e) {
    const status = (e as { status?: unknown }).status;
    const detail = e instanceof Error ? e.message : String(e);
    if (typeof status !== 'number') {
      throw new QuijoteError('OFFLINE', `No pude conectar con Discord para registrar los comandos (${detail}).`, {
        cause: e,
        hint: 'Comprueba la conexión a internet y vuelve a intentarlo.',
      });
    }
    throw new QuijoteError('BAD_CONFIG', `Discord rechazó el registro de comandos en ${route} (HTTP ${status}: ${detail}).`, {
      cause: e,
      hint: 'Comprueba DISCORD_TOKEN y DISCORD_APP_ID, y que el bot está invitado al servidor con el permiso applications.commands.',
    });
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  return { scope: o.global ? 'global' : 'guild', route, names: body.map((c) => c.name) };
}
