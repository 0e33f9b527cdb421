/** `npm run slack-manifests`: writes the Slack app manifest of each language (bot/slack/manifest*.json). */
import { writeFileSync } from 'node:fs';
import { localizedCommands } from '../commands/index.ts';
import { buildManifest, MANIFEST_FILES } from '../bot/slack/manifest.ts';

for (const [locale, file] of Object.entries(MANIFEST_FILES) as Array<[keyof typeof MANIFEST_FILES, string]>) {
  writeFileSync(new URL(`../${file}`, import.meta.url), JSON.stringify(buildManifest(localizedCommands(locale), locale), null, 2) + '\n');
  console.log(`${file} (${locale})`);
}
