/** The few user-facing texts the Slack adapter itself produces (commands bring their own). */
export type { Locale } from '../../config/index.ts';
import type { Locale } from '../../config/index.ts';

const es = {
  apology: 'Lo siento, algo ha fallado al procesar tu petición. Ya queda registrado; inténtalo de nuevo en un momento.',
  teacherOnly: (cmd: string) => `Solo el profesorado puede usar ${cmd}.`,
  unknownButton: 'Este botón ya no funciona (el bot se ha actualizado). Vuelve a lanzar el comando.',
  cannotPost: (code: string) => `No puedo escribir en este canal (${code}). Invítame con \`/invite @Quijote\` (en canales privados y mensajes directos es obligatorio) y vuelve a intentarlo.`,
  missing: (name: string, usage: string) => `Falta la opción «${name}». Uso: ${usage}`,
  notInteger: (name: string, v: string) => `«${name}» debe ser un número entero; has escrito «${v}».`,
  notNumber: (name: string, v: string) => `«${name}» debe ser un número (por ejemplo 0.5); has escrito «${v}».`,
  tooSmall: (name: string, min: number, v: number) => `«${name}» debe ser como mínimo ${min}; has escrito ${v}.`,
  tooLarge: (name: string, max: number, v: number) => `«${name}» debe ser como máximo ${max}; has escrito ${v}.`,
  duplicate: (name: string) => `Has escrito «${name}» dos veces; deja solo una.`,
  unknownOption: (name: string, known: string) => `No conozco la opción «${name}». Opciones válidas: ${known}.`,
  extra: (v: string, usage: string) => `No sé a qué opción corresponde «${v}». Uso: ${usage}`,
  unclosedQuote: 'Hay unas comillas sin cerrar; cierra el texto con " y vuelve a intentarlo.',
  value: 'valor',
  number: 'número',
  text: 'texto',
  fileNotFound: (id: string, code: string) => `No encuentro el archivo ${id} de Slack (${code}). Compártelo en este canal y pega su enlace («Copiar enlace»).`,
  fileNotInChannel: (name: string) => `El archivo «${name}» no está compartido en este canal. Compártelo aquí (arrástralo al canal) y vuelve a lanzar el comando con su enlace.`,
};

const en: typeof es = {
  apology: 'Sorry, something went wrong while handling your request. It has been logged; please try again shortly.',
  teacherOnly: (cmd) => `Only teachers can use ${cmd}.`,
  unknownButton: 'This button no longer works (the bot was updated). Run the command again.',
  cannotPost: (code) => `I can't write in this channel (${code}). Invite me with \`/invite @Quijote\` (required in private channels and direct messages) and try again.`,
  missing: (name, usage) => `Missing option “${name}”. Usage: ${usage}`,
  notInteger: (name, v) => `“${name}” must be a whole number; you wrote “${v}”.`,
  notNumber: (name, v) => `“${name}” must be a number (for example 0.5); you wrote “${v}”.`,
  tooSmall: (name, min, v) => `“${name}” must be at least ${min}; you wrote ${v}.`,
  tooLarge: (name, max, v) => `“${name}” must be at most ${max}; you wrote ${v}.`,
  duplicate: (name) => `You wrote “${name}” twice; keep only one.`,
  unknownOption: (name, known) => `Unknown option “${name}”. Valid options: ${known}.`,
  extra: (v, usage) => `I don't know which option “${v}” belongs to. Usage: ${usage}`,
  unclosedQuote: 'A quote is not closed; close the text with " and try again.',
  value: 'value',
  number: 'number',
  text: 'text',
  fileNotFound: (id, code) => `I cannot find the Slack file ${id} (${code}). Share it in this channel and paste its link ("Copy link").`,
  fileNotInChannel: (name) => `The file “${name}” is not shared in this channel. Share it here (drag it into the channel) and run the command again with its link.`,
};

export type Texts = typeof es;
export function texts(locale: Locale = 'es'): Texts {
  return locale === 'en' ? en : es;
}
