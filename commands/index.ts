/** The explicit list of slash commands and button handlers that the adapters register. */
import { createHelp } from './help.ts';
import { lookup, type Locale } from './messages.ts';
import { cancel } from './cancel.ts';
import { results } from './results.ts';
import { reveal, revealButton } from './reveal.ts';
import { score } from './score.ts';
import { status } from './status.ts';
import { story } from './story.ts';
import { train } from './train.ts';
import { vote } from './vote.ts';
import { palabras, wordsButton } from './words.ts';
import { nextButton, siguiente } from './next.ts';
import { filmButton, frameButton } from './dial.ts';
import { atencion } from './attention.ts';
import { sweep } from './sweep.ts';
import { usar } from './usar.ts';
import type { ButtonHandler, Command } from './types.ts';

export const commands: Command[] = [];
const help = createHelp(() => commands);
commands.push(train, story, reveal, status, cancel, score, results, palabras, siguiente, atencion, sweep, usar, help);

export const buttons: ButtonHandler[] = [vote, revealButton, wordsButton, nextButton, filmButton, frameButton];

/**
 * The commands with descriptions in `locale` (what platforms show next to each command and option).
 * The Spanish list is `commands` itself.
 */
export function localizedCommands(locale: Locale): Command[] {
  if (locale === 'es') return commands;
  return commands.map((c) => ({
    ...c,
    description: lookup(locale, `cmd.${c.name}.description`) ?? c.description,
    options: c.options.map((o) => ({ ...o, description: lookup(locale, `cmd.${c.name}.opt.${o.name}`) ?? o.description })),
  }));
}
