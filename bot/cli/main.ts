/**
 * `quijote` — the command line: score, tokenize, generate, train, story, demo, download, bench. Errors print one
 * line (what, where, what to do) and exit non-zero; never a stack trace for an expected failure.
 */
import { DEFAULTS, loadConfig, loadDotenv, type AppConfig } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import { parseCli } from './args.ts';
import { COMMANDS } from './commands.ts';
import { commandHelp, usage, versionLine } from './help.ts';
import { commandSpec } from './spec.ts';

/** The configuration for help texts: the real one when it loads, the built-in defaults when it does not. */
function configForHelp(): AppConfig {
  try {
    loadDotenv();
    return loadConfig(process.env);
  } catch {
    return DEFAULTS;
  }
}

async function main(argv: string[]): Promise<number> {
  const { command, positionals, flags } = parseCli(argv);
  if (flags.version) {
    process.stdout.write(versionLine() + '\n');
    return 0;
  }
  const helpFor = command === 'help' ? positionals[0] : flags.help ? command : undefined;
  if (helpFor !== undefined) {
    const spec = commandSpec(helpFor);
    if (!spec) throw new QuijoteError('BAD_ARGUMENT', `No hay ayuda para «${helpFor}»: no es una orden.`, { hint: 'Mira `quijote --help`.' });
    process.stdout.write(commandHelp(spec, configForHelp()));
    return 0;
  }
  if (!command || command === 'help' || flags.help) {
    process.stdout.write(usage());
    return command || flags.help ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) throw new QuijoteError('BAD_ARGUMENT', `Orden desconocida: ${command}.`, { hint: 'Mira `quijote --help`.' });
  loadDotenv();
  const config = loadConfig(process.env);
  return run({ config, positionals, flags });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof QuijoteError) {
    process.stderr.write(`quijote: ${e.message}\n`);
    process.exitCode = e.code === 'BAD_ARGUMENT' || e.code === 'BAD_CONFIG' ? 2 : 1;
  } else {
    process.stderr.write(`quijote: error inesperado: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
// tfjs-backend-wasm installs process-wide handlers and keeps no timers; exit explicitly so a finished command ends.
process.exit(process.exitCode ?? 0);
