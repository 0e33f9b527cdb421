/**
 * Last-resort process handlers. One unhandled rejection (say, a disk-full error in a cancelled training's clean-up)
 * used to end the bot for every class on both platforms.
 *
 * - `unhandledRejection`: a promise nobody awaited failed. Nothing is left half-done on the stack, so the bot
 *   logs it and stays up.
 * - `uncaughtException`: a synchronous throw escaped to the event loop, and the process state may be broken. Known
 *   harmless cases (a peer resetting a socket: ECONNRESET, EPIPE, ECONNABORTED) are logged and the bot stays up;
 *   anything else is logged, the bot is stopped (at most `stopTimeoutMs`) and the process exits with code 1 so the
 *   supervisor restarts it (deploy/quijote-bot.service: Restart=always). Runs left 'running' are reported as
 *   interrupted at the next start.
 */
export interface ProcessGuardOptions {
  log: (line: string) => void;
  /** Stops the bot before an exit (platform connections, store). */
  stop?: () => Promise<void>;
  exit?: (code: number) => void;
  /** The process to guard (tests pass an EventEmitter). */
  proc?: Pick<NodeJS.Process, 'on' | 'off'>;
  stopTimeoutMs?: number;
}

const SURVIVABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_STREAM_DESTROYED']);

const describe = (e: unknown): string => (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));

/** Whether the bot can carry on after this uncaught exception. */
export function survivable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SURVIVABLE.has(code);
}

/** Installs both handlers; returns a function that removes them. */
export function installProcessGuards(o: ProcessGuardOptions): () => void {
  const proc = o.proc ?? process;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let exiting = false;
  const onRejection = (reason: unknown): void => {
    o.log(`unhandled rejection (the bot stays up): ${describe(reason)}`);
  };
  const onException = (error: unknown): void => {
    if (survivable(error)) {
      o.log(`uncaught exception ${(error as { code: string }).code} (the bot stays up): ${describe(error)}`);
      return;
    }
    o.log(`uncaught exception; stopping so that the supervisor restarts the bot: ${describe(error)}`);
    if (exiting) return;
    exiting = true;
    const stopped = o.stop ? o.stop().catch((e: unknown) => o.log(`stop before exit failed: ${describe(e)}`)) : Promise.resolve();
    const timeout = new Promise<void>((r) => setTimeout(r, o.stopTimeoutMs ?? 5000).unref?.());
    void Promise.race([stopped, timeout]).finally(() => exit(1));
  };
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
