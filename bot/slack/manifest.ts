/**
 * The Slack app manifest (api.slack.com/apps → Create New App → From a manifest), one per language:
 * bot/slack/manifest.json (Spanish) and bot/slack/manifest.en.json (English) are this function's output for the
 * real commands (`npm run slack-manifests` writes them); test/slack.test.ts fails when they drift apart.
 */
import type { Command } from '../../commands/types.ts';
import { usage } from './options.ts';
import type { Locale } from './texts.ts';

/** The manifest file of each language, relative to the repository. */
export const MANIFEST_FILES: Record<Locale, string> = { es: 'bot/slack/manifest.json', en: 'bot/slack/manifest.en.json' };

const APP_DESCRIPTION: Record<Locale, string> = {
  es: 'Afina un GPT-2 español con el Quijote y compara historias antes y después.',
  en: 'Fine-tunes a Spanish GPT-2 on Don Quixote and compares stories before and after.',
};

/** Slack's own slash commands win over an app's: ours take a prefix when they would collide. */
const BUILT_IN = new Set(('active apps archive away call collapse dm dnd expand feed feedback invite leave me msg mute open ' +
  'remind remove rename search shortcuts shrug star status topic who').split(' '));

export function slackCommandName(name: string): string {
  return BUILT_IN.has(name) ? `quijote-${name}` : name;
}

export const BOT_SCOPES = ['chat:write', 'chat:write.public', 'commands', 'files:read', 'files:write', 'im:write', 'usergroups:read'];

/** `commands` should carry `locale`'s descriptions (commands/index.ts localizedCommands). */
export function buildManifest(commands: Command[], locale: Locale = 'es'): Record<string, unknown> {
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name: 'Quijote',
      description: APP_DESCRIPTION[locale],
      background_color: '#7a2e1d',
    },
    features: {
      bot_user: { display_name: 'Quijote', always_online: true },
      slash_commands: commands.map((c) => {
        const name = slackCommandName(c.name);
        const hint = usage(name, c.options, locale).replace(/^\/\S+\s?/, '');
        return { command: '/' + name, description: c.description, ...(hint ? { usage_hint: hint } : {}), should_escape: false };
      }),
    },
    oauth_config: { scopes: { bot: BOT_SCOPES } },
    settings: {
      interactivity: { is_enabled: true },
      org_deploy_enabled: false,
      socket_mode_enabled: true,
      token_rotation_enabled: false,
    },
  };
}
