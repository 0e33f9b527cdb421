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
}

const es: AdapterTexts = {
  unknownCommand: (name) => `No conozco el comando \`/${name}\`. Puede que los comandos del servidor estén desactualizados: pide a quien administra el bot que ejecute \`npm run deploy-commands\`.`,
  unknownButton: () => 'Este botón ya no está activo. Vuelve a lanzar el comando para obtener uno nuevo.',
  forbidden: (role) => `Solo el profesorado puede usar este comando (rol **${role}** o permiso «Gestionar servidor»).`,
  guildOnly: () => 'Este comando solo funciona dentro de un servidor, no en mensajes directos.',
  failed: () => 'Lo siento, algo ha fallado al procesar tu petición. Inténtalo de nuevo en un momento; si se repite, avisa al profesor.',
  done: () => 'Hecho.',
};

const en: AdapterTexts = {
  unknownCommand: (name) => `I don't know the command \`/${name}\`. The server's commands may be outdated: ask the bot's admin to run \`npm run deploy-commands\`.`,
  unknownButton: () => 'This button is no longer active. Run the command again to get a new one.',
  forbidden: (role) => `Only teachers can use this command (role **${role}** or the "Manage Server" permission).`,
  guildOnly: () => 'This command only works inside a server, not in direct messages.',
  failed: () => 'Sorry, something went wrong while handling your request. Try again in a moment; if it keeps happening, tell your teacher.',
  done: () => 'Done.',
};

export function adapterTexts(locale: Locale = 'es'): AdapterTexts {
  return locale === 'en' ? en : es;
}
