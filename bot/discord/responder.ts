/**
 * The interaction's own response, serialised: defer, reply, follow-ups and edits of the clicked message never race
 * (the automatic safety-net defer can fire while a command is replying).
 */
import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type Message } from 'discord.js';
import type { MessageHandle, OutgoingMessage } from '../../commands/types.ts';
import { sendableChannel } from './caller.ts';
import { toEditPayload, toPayload } from './payload.ts';

type Repliable = ChatInputCommandInteraction | ButtonInteraction;

export class Responder {
  private chain: Promise<unknown> = Promise.resolve();
  /** 'reply': deferReply (thinking…), 'update': deferUpdate (button ack), null: not deferred. */
  private deferKind: 'reply' | 'update' | null = null;
  private deferEphemeral = false;
  /** Whether @original holds a real message (a reply, or the deferred placeholder was filled). */
  private originalFilled = false;
  private updated = false;

  constructor(private readonly i: Repliable) {}

  get acknowledged(): boolean {
    return this.i.deferred || this.i.replied;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Idempotent acknowledgement. Buttons without `ephemeral` ack silently (the clicked message stays). */
  defer(options: { ephemeral?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      if (this.acknowledged) return;
      if (this.i.isButton() && !options.ephemeral) {
        await this.i.deferUpdate();
        this.deferKind = 'update';
      } else {
        await this.i.deferReply(options.ephemeral ? { flags: MessageFlags.Ephemeral } : {});
        this.deferKind = 'reply';
        this.deferEphemeral = options.ephemeral ?? false;
      }
    });
  }

  reply(msg: OutgoingMessage): Promise<MessageHandle> {
    return this.serial(async () => {
      const ephemeral = msg.ephemeral ?? false;
      const flags = ephemeral ? MessageFlags.Ephemeral : undefined;
      if (!this.acknowledged) {
        const res = await this.i.reply({ ...toPayload(msg), flags, withResponse: true });
        this.originalFilled = true;
        return this.webhookHandle(res.resource?.message?.id ?? '@original', '@original');
      }
      if (this.deferKind === 'reply' && !this.originalFilled) {
        if (ephemeral === this.deferEphemeral) {
          const m = await this.i.editReply(toPayload(msg));
          this.originalFilled = true;
          return this.webhookHandle(m.id, '@original');
        }
        // Visibility is fixed at defer time: drop the "thinking…" placeholder and follow up instead.
        await this.i.deleteReply();
        this.originalFilled = true;
      }
      const m: Message = await this.i.followUp({ ...toPayload(msg), flags });
      return this.webhookHandle(m.id, m.id);
    });
  }

  /** Edit the message that holds the clicked button (buttons only). */
  editClicked(msg: OutgoingMessage): Promise<void> {
    const i = this.i;
    if (!i.isButton()) return Promise.reject(new Error('editClicked needs a button interaction'));
    return this.serial(async () => {
      if (!this.acknowledged) {
        await i.update(toEditPayload(msg));
        this.updated = true;
      } else if (i.message.flags.has(MessageFlags.Ephemeral) && (this.deferKind === 'update' || this.updated)) {
        await i.editReply(toEditPayload(msg)); // ephemeral messages can only be edited through the token
      } else {
        await (await sendableChannel(i)).messages.edit(i.message.id, toEditPayload(msg)); // bot token: keeps working after the 15-minute token expiry
      }
    });
  }

  /** After the handler: make sure Discord never shows "the application did not respond" or a stuck "thinking…". */
  finish(doneText: string): Promise<void> {
    return this.serial(async () => {
      if (!this.acknowledged) {
        if (this.i.isButton()) await this.i.deferUpdate();
        else await this.i.reply({ content: doneText, flags: MessageFlags.Ephemeral });
      } else if (this.deferKind === 'reply' && !this.originalFilled) {
        if (this.deferEphemeral) await this.i.editReply({ content: doneText });
        else await this.i.deleteReply();
        this.originalFilled = true;
      }
    });
  }

  private webhookHandle(id: string, target: string): MessageHandle {
    return {
      id,
      edit: (msg) => this.serial(async () => void (await this.i.editReply({ ...toEditPayload(msg), message: target }))),
    };
  }
}
