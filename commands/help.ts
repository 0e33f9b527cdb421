/** /help — what the bot does and every command, in the bot's language. */
import { lookup, t as translate } from './messages.ts';
import type { Command } from './types.ts';

/** Built with a getter so the list can include /help itself without an import cycle. */
export function createHelp(list: () => readonly Command[]): Command {
  return {
    name: 'help',
    description: translate('es', 'cmd.help.description'),
    options: [],
    async run(ctx) {
      const s = ctx.services;
      const lines = list().map((c) =>
        s.t('help.line', {
          name: c.name,
          teacher: c.teacherOnly ? s.t('help.teacherTag') : '',
          description: lookup(s.locale, `cmd.${c.name}.description`) ?? c.description,
        }),
      );
      await ctx.reply({ text: [s.t('help.header'), '', ...lines, '', s.t('help.footer')].join('\n'), ephemeral: true });
      // the model views and the /story knobs in a teacher's words: a second message (Discord allows 2000 characters)
      await ctx.reply({ text: [s.t('help.inspect'), '', s.t('help.sampling')].join('\n'), ephemeral: true });
    },
  };
}
