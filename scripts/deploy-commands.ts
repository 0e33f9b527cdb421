/**
 * Registers the Discord slash commands: `npm run deploy-commands` (the server in DISCORD_GUILD_ID, instant) or
 * `npm run deploy-commands -- --global` (every server; Discord may take up to an hour to show them).
 */
import { deployCommands } from '../bot/discord/deploy.ts';
import { localizedCommands } from '../commands/index.ts';
import { loadConfig, loadDotenv } from '../config/index.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';

try {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--global');
  if (unknown.length) {
    throw new QuijoteError('BAD_ARGUMENT', `Argumento desconocido: ${unknown.join(' ')}.`, { hint: 'Uso: npm run deploy-commands [-- --global]' });
  }
  loadDotenv();
  const { discord, locale } = loadConfig();
  const res = await deployCommands({
    token: discord.token ?? '',
    appId: discord.appId ?? '',
    guildId: discord.guildId ?? undefined,
    global: args.includes('--global'),
    commands: localizedCommands(locale),
  });
  const where = res.scope === 'global' ? 'globalmente (pueden tardar hasta una hora en aparecer)' : `en el servidor ${discord.guildId}`;
  console.log(`Registrados ${res.names.length} comandos ${where}: ${res.names.map((n) => `/${n}`).join(', ')}`);
} catch (e) {
  console.error(isQuijoteError(e) ? e.message : e);
  process.exitCode = 1;
}
