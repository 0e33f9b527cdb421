/**
 * Slash-command text → typed options. Slack hands us free text ("/train lines:500 epochs:3", "/train 500",
 * "/story prompt:"En un lugar""), so we parse it against the Command's OptionSpec list.
 * Rules: `name:value` (or `name=value`) sets a named option; bare values fill the remaining options in order
 * (required first); when that target is a string option it takes all the remaining bare words.
 */
import { QuijoteError } from '../../core/errors.ts';
import type { OptionSpec } from '../../commands/types.ts';
import { texts, type Locale } from './texts.ts';

export type ParsedOptions = Record<string, string | number | undefined>;

interface Token {
  text: string;
  quoted: boolean; // started with a quote: never read as name:value
}

const OPEN_QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '«': '»', '‘': '’', '”': '”' };

export function tokenize(input: string, locale: Locale = 'es'): Token[] {
  const out: Token[] = [];
  let cur = '';
  let quoted = false;
  let inToken = false;
  let close: string | undefined;
  for (const ch of input.trim()) {
    if (close !== undefined) {
      if (ch === close) close = undefined;
      else cur += ch;
    } else if (/\s/.test(ch)) {
      if (inToken) out.push({ text: cur, quoted });
      cur = '';
      quoted = false;
      inToken = false;
    } else if (ch in OPEN_QUOTES) {
      if (!inToken) quoted = true;
      inToken = true;
      close = OPEN_QUOTES[ch];
    } else {
      cur += ch;
      inToken = true;
    }
  }
  if (close !== undefined) throw new QuijoteError('BAD_ARGUMENT', texts(locale).unclosedQuote);
  if (inToken) out.push({ text: cur, quoted });
  return out;
}

export function usage(commandName: string, specs: OptionSpec[], locale: Locale = 'es'): string {
  const t = texts(locale);
  const parts = specs.filter((s) => s.type !== 'attachment').map((s) => {
    const v = s.type === 'string' ? `"<${t.text}>"` : `<${t.number}>`;
    return s.required ? `${s.name}:${v}` : `[${s.name}:${v}]`;
  });
  return ['/' + commandName, ...parts].join(' ');
}

function convert(spec: OptionSpec, raw: string, locale: Locale): string | number {
  const t = texts(locale);
  if (spec.type === 'string') return raw;
  let n: number;
  if (spec.type === 'integer') {
    if (!/^[+-]?\d+$/.test(raw)) throw new QuijoteError('BAD_ARGUMENT', t.notInteger(spec.name, raw));
    n = Number(raw);
  } else {
    const normalized = raw.replace(',', '.'); // "0,5" is how a Spanish class writes one half
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(normalized)) {
      throw new QuijoteError('BAD_ARGUMENT', t.notNumber(spec.name, raw));
    }
    n = Number(normalized);
  }
  if (spec.min !== undefined && n < spec.min) throw new QuijoteError('BAD_ARGUMENT', t.tooSmall(spec.name, spec.min, n));
  if (spec.max !== undefined && n > spec.max) throw new QuijoteError('BAD_ARGUMENT', t.tooLarge(spec.name, spec.max, n));
  return n;
}

/** Throws QuijoteError('BAD_ARGUMENT') with a message for the user when the text does not fit the specs. */
export function parseOptions(commandName: string, text: string, specs: OptionSpec[], locale: Locale = 'es'): ParsedOptions {
  const t = texts(locale);
  specs = specs.filter((s) => s.type !== 'attachment'); // Slack slash commands carry no files (see bot/slack/files.ts)
  const byName = new Map(specs.map((s) => [s.name.toLowerCase(), s]));
  const hasString = specs.some((s) => s.type === 'string');
  const raw = new Map<string, string>();
  const bare: string[] = [];
  for (const tok of tokenize(text, locale)) {
    const m = tok.quoted ? null : /^([\p{L}_][\p{L}\p{N}_-]*)[:=](.*)$/su.exec(tok.text);
    const spec = m ? byName.get(m[1].toLowerCase()) : undefined;
    if (m && spec) {
      if (raw.has(spec.name)) throw new QuijoteError('BAD_ARGUMENT', t.duplicate(spec.name));
      raw.set(spec.name, m[2]);
    } else if (m && !hasString) {
      throw new QuijoteError('BAD_ARGUMENT', t.unknownOption(m[1], specs.map((s) => s.name).join(', ') || '—'));
    } else {
      bare.push(tok.text);
    }
  }
  const free = [...specs.filter((s) => s.required), ...specs.filter((s) => !s.required)].filter((s) => !raw.has(s.name));
  while (bare.length > 0) {
    const target = free.shift();
    if (!target) throw new QuijoteError('BAD_ARGUMENT', t.extra(bare[0], usage(commandName, specs, locale)));
    const take = target.type === 'string' && !free.some((s) => s.type === 'string') ? bare.splice(0) : bare.splice(0, 1);
    raw.set(target.name, take.join(' '));
  }
  const out: ParsedOptions = {};
  for (const spec of specs) {
    const value = raw.get(spec.name);
    if (value === undefined || value === '') {
      if (spec.required) throw new QuijoteError('BAD_ARGUMENT', t.missing(spec.name, usage(commandName, specs, locale)));
      out[spec.name] = undefined;
    } else {
      out[spec.name] = convert(spec, value, locale);
    }
  }
  return out;
}
