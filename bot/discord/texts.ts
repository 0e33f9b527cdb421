/** The few user-facing texts the Discord adapter itself writes (commands write the rest). */
export type { Locale } from '../../config/index.ts';
import type { Locale } from '../../config/index.ts';

export interface AdapterTexts {
  unknownCommand(name: string): string;
  unknownButton(): string;
  forbidden(teacherRole: string): string;
  guildOnly(): string;
  failed(): string;
  done(): string;
  /** Why a channel message was refused; `missing` are permission names as Discord shows them (may be empty). */
  missingPermissions(missing: string[]): string;
  permissionName(p: { es: string; en: string }): string;
}

const es: AdapterTexts = {
  unknownCommand: (name) => `No conozco el comando \`/${name}\`. Puede que los comandos del servidor estén desactualizados: pide a quien administra el bot que ejecute \`npm run deploy-commands\`.`,
  unknownButton: () => 'Este botón ya no está activo. Vuelve a lanzar el comando para obtener uno nuevo.',
  forbidden: (role) => `Solo el profesorado puede usar este comando (rol **${role}** o permiso «Gestionar servidor»).`,
  guildOnly: () => 'Este comando solo funciona dentro de un servidor, no en mensajes directos.',
  failed: () => 'Lo siento, algo ha fallado al procesar tu petición. Inténtalo de nuevo en un momento; si se repite, avisa al profesor.',
  done: () => 'Hecho.',
  missingPermissions: (missing) =>
    missing.length > 0
      ? `No puedo publicar en este canal: al bot le falta ${missing.length > 1 ? 'los permisos' : 'el permiso'} ${missing.map((m) => `«${m}»`).join(', ')}. Pide a quien administra el servidor que se ${missing.length > 1 ? 'los' : 'lo'} dé en este canal (Editar canal → Permisos) y vuelve a intentarlo.`
      : 'No puedo publicar en este canal: Discord dice que al bot le faltan permisos. Pide a quien administra el servidor que revise los permisos del bot en este canal (Ver canal, Enviar mensajes, Adjuntar archivos).',
  permissionName: (p) => p.es,
};

const en: AdapterTexts = {
  unknownCommand: (name) => `I don't know the command \`/${name}\`. The server's commands may be outdated: ask the bot's admin to run \`npm run deploy-commands\`.`,
  unknownButton: () => 'This button is no longer active. Run the command again to get a new one.',
  forbidden: (role) => `Only teachers can use this command (role **${role}** or the "Manage Server" permission).`,
  guildOnly: () => 'This command only works inside a server, not in direct messages.',
  failed: () => 'Sorry, something went wrong while handling your request. Try again in a moment; if it keeps happening, tell your teacher.',
  done: () => 'Done.',
  missingPermissions: (missing) =>
    missing.length > 0
      ? `I cannot post in this channel: the bot lacks the ${missing.map((m) => `"${m}"`).join(', ')} permission${missing.length > 1 ? 's' : ''}. Ask a server admin to grant ${missing.length > 1 ? 'them' : 'it'} in this channel (Edit Channel → Permissions) and try again.`
      : 'I cannot post in this channel: Discord says the bot lacks permissions. Ask a server admin to check the bot permissions in this channel (View Channel, Send Messages, Attach Files).',
  permissionName: (p) => p.en,
};

export function adapterTexts(locale: Locale = 'es'): AdapterTexts {
  return locale === 'en' ? en : es;
}
