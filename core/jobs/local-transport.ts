/**
 * The in-process transport: the executor runs in the same process as the client. Every message is copied
 * through JSON and delivered on a later turn of the event loop, as over a real channel, so whatever works here
 * is serializable. For tests and benchmarks only: `npm start` puts compute in its own process
 * (bot/compute/process-transport.ts), because tensor work blocks the event loop.
 */
import type { Engine } from '../engine.ts';
import type { Clock } from '../store/types.ts';
import { createComputeClient, type ComputeTransport } from './client.ts';
import { createExecutor } from './executor.ts';
import { parseComputeCommand, parseComputeEvent, type ComputeEvent } from './protocol.ts';
import type { ComputeClient } from './types.ts';

const copy = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

export function localTransport(engine: Engine, clock: Clock): ComputeTransport {
  const listeners: Array<(e: ComputeEvent) => void> = [];
  let closed = false;
  const executor = createExecutor({
    engine,
    clock,
    emit: (event) => {
      const wire = copy(event);
      setImmediate(() => {
        if (closed) return;
        const parsed = parseComputeEvent(wire);
        for (const l of listeners) l(parsed);
      });
    },
  });
  return {
    send(command) {
      const wire = copy(command);
      setImmediate(() => {
        if (!closed) executor.handle(parseComputeCommand(wire));
      });
    },
    onEvent: (l) => void listeners.push(l),
    onDown: () => undefined, // the executor lives as long as this process
    onUp: () => undefined,
    async close() {
      closed = true;
    },
  };
}

/** A ComputeClient whose compute runs in this process (tests, benchmarks). */
export function createLocalCompute(engine: Engine, clock: Clock, options: { newId?: () => string } = {}): ComputeClient {
  return createComputeClient({ transport: localTransport(engine, clock), clock, describe: engine.describe(), newId: options.newId });
}
