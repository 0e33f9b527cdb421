/**
 * The configuration's own messages, in the user's language (LOCALE, read before anything else). config/ sits
 * below commands/, so it keeps this small catalogue instead of importing commands/messages.ts.
 */
export type ConfigLocale = 'es' | 'en';

/** A text in both languages (what readers of config/index.ts pass as the `expected` description). */
export interface Localized {
  es: string;
  en: string;
}

const list = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

interface ConfigTexts {
  expected(name: string, expected: string, got: string): string;
  positiveInt: string;
  nonNegativeInt: string;
  positiveNumber: string;
  nonNegativeNumber: string;
  oneOf(allowed: readonly string[]): string;
  url: string;
  regex(detail: string): string;
  prefix(name: string, prefix: string, got: string): string;
  partial(what: string, set: readonly string[], missing: readonly string[]): string;
  slackPartial(mode: string, missing: readonly string[]): string;
  header(count: number): string;
  hint: string;
  unreadable(file: string, code: string): string;
  unreadableHint: string;
}

const es: ConfigTexts = {
  expected: (name, expected, got) => `\`${name}\` debe ser ${expected}; tiene \`${got}\``,
  positiveInt: 'un número entero positivo',
  nonNegativeInt: 'un número entero mayor o igual que 0',
  positiveNumber: 'un número positivo',
  nonNegativeNumber: 'un número mayor o igual que 0',
  oneOf: (allowed) => `uno de estos valores: ${allowed.join(', ')}`,
  url: 'una dirección http(s)',
  // V8's own description of the syntax error is English: Spanish says what to look at instead
  regex: () => 'una expresión regular válida (revisa que los paréntesis y corchetes estén cerrados y escapa los caracteres especiales con \\)',
  prefix: (name, prefix, got) => `\`${name}\` debe empezar por \`${prefix}\`; empieza por \`${got}…\` (¿están intercambiados los tokens?)`,
  partial: (what, set, missing) =>
    `${what} está configurado a medias: ${set.length > 1 ? 'están' : 'está'} ${list(set)} pero ${missing.length > 1 ? 'faltan' : 'falta'} ${list(missing)} (${missing.length > 1 ? 'defínelas' : 'defínela'}, o ${set.length > 1 ? 'quítalas' : 'quítala'} para desactivar ${what})`,
  slackPartial: (mode, missing) =>
    `Slack (modo ${mode}) está configurado a medias: ${missing.length > 1 ? 'faltan' : 'falta'} ${list(missing)} (${missing.length > 1 ? 'defínelas' : 'defínela'}, o quita las credenciales SLACK_* para desactivar Slack)`,
  header: (n) => `La configuración no es válida (${n} ${n > 1 ? 'problemas' : 'problema'}):`,
  hint: 'Corrige estas variables en .env o en el entorno (mira .env.example).',
  unreadable: (file, code) => `No puedo leer el archivo de variables ${file} (${code}).`,
  unreadableHint: 'Revisa la ruta, o copia .env.example a .env.',
};

const en: ConfigTexts = {
  expected: (name, expected, got) => `Expected \`${name}\` to be ${expected}, got \`${got}\``,
  positiveInt: 'a positive integer',
  nonNegativeInt: 'a non-negative integer',
  positiveNumber: 'a positive number',
  nonNegativeNumber: 'a number >= 0',
  oneOf: (allowed) => `one of ${allowed.join(', ')}`,
  url: 'an http(s) URL',
  regex: (detail) => `a valid regular expression (${detail})`,
  prefix: (name, prefix, got) => `Expected \`${name}\` to start with \`${prefix}\`, got \`${got}…\``,
  partial: (what, set, missing) =>
    `${what} is partially configured: ${list(set)} set but ${list(missing)} missing (set ${missing.length > 1 ? 'them' : 'it'}, or unset ${set.length > 1 ? 'them' : 'it'} to disable ${what})`,
  slackPartial: (mode, missing) =>
    `Slack (${mode} mode) is partially configured: ${list(missing)} missing (set ${missing.length > 1 ? 'them' : 'it'}, or unset the SLACK_* credentials to disable Slack)`,
  header: (n) => `Invalid configuration (${n} problem${n > 1 ? 's' : ''}):`,
  hint: 'Fix these variables in .env or the environment (see .env.example).',
  unreadable: (file, code) => `Cannot read the env file ${file} (${code}).`,
  unreadableHint: 'Check the path, or copy .env.example to .env.',
};

export function configTexts(locale: ConfigLocale): ConfigTexts {
  return locale === 'en' ? en : es;
}

/** The language of the configuration's messages: LOCALE when it is `en` (any case), Spanish otherwise. */
export function localeOf(env: Readonly<Record<string, string | undefined>>): ConfigLocale {
  return (env.LOCALE ?? '').trim().toLowerCase() === 'en' ? 'en' : 'es';
}
