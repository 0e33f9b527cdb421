/** Registers one Bolt listener per slash command and one for every button click, and routes them to commands/. */
import type { App } from '@slack/bolt';
import { QuijoteError } from '../../core/errors.ts';
import type { ButtonHandler, Command, OutgoingMessage } from '../../commands/types.ts';
import { toSlackMessage } from './blocks.ts';
import { caller, interaction, safely, type Deps, type Origin } from './context.ts';
import { slackCommandName } from './manifest.ts';
import { parseOptions } from './options.ts';
import type { Locale } from './texts.ts';

export function route(app: App, deps: Deps, commands: Command[], buttons: ButtonHandler[], locale?: Locale): void {
  const t = deps.texts;
  for (const cmd of commands) {
    const slashName = slackCommandName(cmd.name);
    app.command('/' + slashName, async ({ command, ack, respond }) => {
      await ack();
      const o: Origin = { teamId: command.team_id, channelId: command.channel_id, userId: command.user_id, userName: command.user_name, respond };
      await safely(deps, o, '/' + slashName, async () => {
        const options = parseOptions(slashName, command.text ?? '', cmd.options, locale);
        const user = await caller(deps, o);
        if (cmd.teacherOnly && !user.isTeacher) throw new QuijoteError('FORBIDDEN', t.teacherOnly('/' + slashName));
        const shared = await deps.files?.resolve(cmd.options, options, o.channelId);
        await cmd.run({ ...interaction(deps, o, user), commandName: cmd.name, options, ...(shared ?? {}) });
      });
    });
  }

  app.action(/.*/, async ({ ack, body, respond }) => {
    await ack();
    if (body.type !== 'block_actions' || body.actions[0]?.type !== 'button') return;
    const customId = body.actions[0].action_id;
    const [prefix, ...args] = customId.split(':');
    const channelId: string = body.container?.channel_id ?? body.channel?.id ?? '';
    const messageTs: string = body.container?.message_ts ?? body.message?.ts ?? '';
    const o: Origin = {
      teamId: body.team?.id ?? body.user.team_id ?? '',
      channelId,
      userId: body.user.id,
      userName: body.user.name ?? body.user.username ?? body.user.id,
      respond,
    };
    await safely(deps, o, `botón ${customId}`, async () => {
      const handler = buttons.find((b) => b.prefix === prefix);
      if (!handler) throw new QuijoteError('NOT_FOUND', t.unknownButton);
      const user = await caller(deps, o);
      const message = {
        id: messageTs,
        // an ephemeral message (only the clicker sees it) can only be replaced through the response_url
        edit: async (m: OutgoingMessage) => body.container?.is_ephemeral
          ? void (await respond({ replace_original: true, ...toSlackMessage(m) }))
          : deps.io.edit(channelId, messageTs, m),
      };
      await handler.run({ ...interaction(deps, o, user), customId, args, message });
    });
  });
}
