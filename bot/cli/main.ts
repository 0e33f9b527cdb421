/**
 * `quijote` — the command line: score, tokenize, generate, train, story, bench. Errors print one line
 * (what, where, what to do) and exit non-zero; never a stack trace for an expected failure.
 */
import { loadConfig, loadDotenv } from '../../config/index.ts';
import { QuijoteError } from '../../core/errors.ts';
import { parseCli } from './args.ts';
import { COMMANDS, usage } from './commands.ts';

async function main(argv: string[]): Promise<number> {
  const { command, positionals, flags } = parseCli(argv);
  if (!command || flags.help || command === 'help') {
    process.stdout.write(usage());
    return command || flags.help ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) throw new QuijoteError('BAD_ARGUMENT', `Comando desconocido: ${command}.`, { hint: 'Mira `quijote --help`.' });
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
