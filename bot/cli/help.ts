/** `quijote --help`, `quijote <orden> --help` and `--version`: every flag of a command with its default. */
import { readFileSync } from 'node:fs';
import type { AppConfig } from '../../config/index.ts';
import { COMMAND_SPECS, COMMON_FLAGS, type CommandSpec, type FlagSpec } from './spec.ts';

const WIDTH = 80;
const NAME_COLUMN = 28;

/** Words of `text` in lines of at most `width` characters (a longer word keeps its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) { lines.push(line); line = word; }
    else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function flagLabel(f: FlagSpec): string {
  const short = f.name === 'help' ? '-h, ' : f.name === 'version' ? '-v, ' : '    ';
  return `  ${short}--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
}

function flagLines(f: FlagSpec, config: AppConfig): string[] {
  const def = f.default?.(config);
  const text = def !== undefined && def !== '' ? `${f.help} (por defecto: ${def})` : f.help;
  const label = flagLabel(f);
  const body = wrap(text, WIDTH - NAME_COLUMN);
  const first = label.length < NAME_COLUMN ? [label.padEnd(NAME_COLUMN) + body.shift()] : [label];
  return [...first, ...body.map((l) => ' '.repeat(NAME_COLUMN) + l)];
}

export function commandHelp(spec: CommandSpec, config: AppConfig): string {
  return [
    ...wrap(`quijote ${spec.name} — ${spec.summary}`, WIDTH),
    '',
    `Uso: ${spec.usage}`,
    ...(spec.positional ? [`     (${spec.positional} entre comillas, o con --prompt)`] : []),
    '',
    'Opciones:',
    ...spec.flags.flatMap((f) => flagLines(f, config)),
    ...COMMON_FLAGS.flatMap((f) => flagLines(f, config)),
    '',
    ...wrap('Los valores por defecto salen del entorno o de .env (ver .env.example); cada opción los cambia para esta orden.', WIDTH),
    '',
  ].join('\n');
}

export function usage(): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length));
  return [
    'quijote — afina un GPT-2 español con el Quijote y compara cuentos antes/después',
    '',
    'Uso: quijote <orden> [opciones]',
    '',
    'Órdenes:',
    ...COMMAND_SPECS.flatMap((c) => {
      const body = wrap(c.summary, WIDTH - width - 4);
      return [`  ${c.name.padEnd(width)}  ${body[0]}`, ...body.slice(1).map((l) => ' '.repeat(width + 4) + l)];
    }),
    '',
    '`quijote <orden> --help` lista todas sus opciones con sus valores por defecto.',
    '  -h, --help     esta ayuda',
    '  -v, --version  la versión de quijote y de Node',
    '',
    ...wrap('Variables de entorno: ver .env.example (N_LINES, EPOCHS, LR, QUIJOTE_MODEL, QUIJOTE_TEXT, QUIJOTE_BACKEND…).', WIDTH),
    '',
  ].join('\n');
}

/** "quijote 0.1.0 (Node v20.20.2, linux x64)" */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `quijote ${pkg.version} (Node ${process.version}, ${process.platform} ${process.arch})`;
}
