/** Routes slash commands and button clicks to the platform-neutral handlers; never lets an error escape. */
import type { ButtonInteraction, ChatInputCommandInteraction, Interaction } from 'discord.js';
import type { ButtonHandler, Command, Services } from '../../commands/types.ts';
import { isQuijoteError } from '../../core/errors.ts';
import { isTeacher, placeOf } from './caller.ts';
import { buttonContext, commandContext } from './context.ts';
import { Responder } from './responder.ts';
import type { AdapterTexts } from './texts.ts';

export interface RouterOptions {
  commands: Command[];
  buttons: ButtonHandler[];
  services: Services;
  teacherRole: string;
  texts: AdapterTexts;
  /** Defer automatically when a handler has not acknowledged within this many ms (Discord allows 3 s). */
  autoDeferMs: number;
  log: (line: string) => void;
}

export function createRouter(o: RouterOptions): (i: Interaction) => Promise<void> {
  const commands = new Map(o.commands.map((c) => [c.name, c]));
  const buttons = new Map(o.buttons.map((b) => [b.prefix, b]));
  const deps = { services: o.services, teacherRole: o.teacherRole, texts: o.texts, log: o.log };

  return async (i) => {
    if (i.isChatInputCommand()) await handle(i, `/${i.commandName}`, (r) => runCommand(i, r));
    else if (i.isButton()) await handle(i, `button ${i.customId}`, (r) => runButton(i, r));
  };

  async function runCommand(i: ChatInputCommandInteraction, r: Responder): Promise<void> {
    const cmd = commands.get(i.commandName);
    const place = placeOf(i);
    if (!cmd) return void (await r.reply({ text: o.texts.unknownCommand(i.commandName), ephemeral: true }));
    if (!place) return void (await r.reply({ text: o.texts.guildOnly(), ephemeral: true }));
    if (cmd.teacherOnly && !isTeacher(i, o.teacherRole)) {
      return void (await r.reply({ text: o.texts.forbidden(o.teacherRole), ephemeral: true }));
    }
    await cmd.run(commandContext(i, place, r, deps));
  }

  async function runButton(i: ButtonInteraction, r: Responder): Promise<void> {
    const handler = buttons.get(i.customId.split(':')[0] ?? '');
    const place = placeOf(i);
    if (!handler || !place) return void (await r.reply({ text: o.texts.unknownButton(), ephemeral: true }));
    await handler.run(buttonContext(i, place, r, deps));
  }

  async function handle(i: Repliable, what: string, run: (r: Responder) => Promise<void>): Promise<void> {
    const r = new Responder(i);
    const timer = setTimeout(() => {
      r.defer().catch((e: unknown) => o.log(`discord: could not defer ${what}: ${describe(e)}`));
    }, o.autoDeferMs);
    try {
      await run(r);
      await r.finish(o.texts.done());
    } catch (e) {
      if (isQuijoteError(e)) o.log(`discord: ${what} by ${i.user.id}: ${e.code}: ${e.message}`);
      else o.log(`discord: ${what} by ${i.user.id} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      const text = isQuijoteError(e) ? e.message : o.texts.failed();
      await r.reply({ text, ephemeral: true }).catch((e2: unknown) => o.log(`discord: could not report the error of ${what}: ${describe(e2)}`));
    } finally {
      clearTimeout(timer);
    }
  }
}

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
