/**
 * Registers the Discord slash commands: `npm run deploy-commands` (the server in DISCORD_GUILD_ID, instant) or
 * `npm run deploy-commands -- --global` (every server; Discord may take up to an hour to show them).
 * `--dry-run` prints what would be registered (route and JSON) without a token or the network; `--help` says this.
 */
import { parseArgs } from 'node:util';
import { closest } from '../bot/cli/args.ts';
import { deployCommands, deployPlan } from '../bot/discord/deploy.ts';
import { localizedCommands } from '../commands/index.ts';
import { loadConfig, loadDotenv } from '../config/index.ts';
import { isQuijoteError, QuijoteError } from '../core/errors.ts';

const FLAGS = ['global', 'dry-run', 'help'] as const;

export const HELP = `npm run deploy-commands [-- opciones] — registra los comandos de barra del bot en Discord

Opciones:
  --global    en todos los servidores del bot (Discord tarda hasta una hora en mostrarlos);
              sin --global, en el servidor de DISCORD_GUILD_ID, al instante
  --dry-run   muestra qué se registraría (ruta, comandos y el JSON exacto) sin enviar nada:
              no necesita DISCORD_TOKEN ni conexión
  -h, --help  esta ayuda

Lee DISCORD_TOKEN, DISCORD_APP_ID, DISCORD_GUILD_ID y LOCALE de .env o del entorno (ver .env.example).
Las descripciones van en el idioma de LOCALE, con sus traducciones al español y al inglés para los clientes de Discord.
`;

function parse(argv: string[]): Record<(typeof FLAGS)[number], boolean> {
  const { values, positionals, tokens } = parseArgs({
    args: argv, strict: false, allowPositionals: true, tokens: true,
    options: { global: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  for (const tk of tokens ?? []) {
    if (tk.kind === 'option' && !(FLAGS as readonly string[]).includes(tk.name)) {
      throw new QuijoteError('BAD_ARGUMENT', `deploy-commands no tiene la opción ${tk.rawName}. ¿Quisiste decir --${closest(tk.name, FLAGS)}?`, { hint: 'Mira `npm run deploy-commands -- --help`.' });
    }
  }
  if (positionals.length) throw new QuijoteError('BAD_ARGUMENT', `Argumento desconocido: ${positionals.join(' ')}.`, { hint: 'Mira `npm run deploy-commands -- --help`.' });
  return { global: values.global === true, 'dry-run': values['dry-run'] === true, help: values.help === true };
}

try {
  const flags = parse(process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(HELP);
  } else {
    loadDotenv();
    const { discord, locale } = loadConfig();
    const options = { appId: discord.appId ?? '', guildId: discord.guildId ?? undefined, global: flags.global, commands: localizedCommands(locale) };
    if (flags['dry-run']) {
      const plan = deployPlan(options);
      const where = plan.scope === 'global' ? 'globalmente' : `en el servidor ${discord.guildId}`;
      console.log(`Simulación (--dry-run): se registrarían ${plan.body.length} comandos ${where} con PUT ${plan.route}`);
      for (const c of plan.body) {
        const opts = (c.options ?? []).map((o) => `${o.name}${o.required ? '' : '?'}`).join(' ');
        console.log(`  /${c.name}${opts ? ` ${opts}` : ''} — ${c.description}`);
      }
      if (!discord.token || !discord.appId) console.log('Para registrarlos de verdad faltan DISCORD_TOKEN o DISCORD_APP_ID en .env.');
      console.log(JSON.stringify(plan.body, null, 2));
    } else {
      const res = await deployCommands({ ...options, token: discord.token ?? '' });
      const where = res.scope === 'global' ? 'globalmente (pueden tardar hasta una hora en aparecer)' : `en el servidor ${discord.guildId}`;
      console.log(`Registrados ${res.names.length} comandos ${where}: ${res.names.map((n) => `/${n}`).join(', ')}`);
    }
  }
} catch (e) {
  console.error(isQuijoteError(e) ? e.message : e);
  process.exitCode = isQuijoteError(e, 'BAD_ARGUMENT') ? 2 : 1;
}
