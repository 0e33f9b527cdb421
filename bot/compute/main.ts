/**
 * The compute process: the only process of the bot that loads TensorFlow.js. Forked and supervised by
 * bot/compute/process-transport.ts; speaks core/jobs/protocol.ts over the IPC channel. Reads the same
 * configuration as the bot (its environment is the bot's), holds the engine, its GPU queue and the model cache.
 */
import { loadConfig } from '../../config/index.ts';
import { createExecutor } from '../../core/jobs/executor.ts';
import { errorToWire, parseComputeCommand, type ComputeEvent } from '../../core/jobs/protocol.ts';
import { createEngine } from '../../core/pipeline/tfjs-engine.ts';
import { EXIT_GPU_ERROR, EXIT_OUT_OF_MEMORY } from './exit-codes.ts';


function send(event: ComputeEvent): void {
  if (process.connected) process.send?.(event);
}

function main(): void {
  if (!process.send) {
    console.error('bot/compute/main.ts is started by the bot (npm start), not by hand.');
    process.exit(2);
  }
  const config = loadConfig(process.env);
  const clock = { now: () => Date.now() };
  const engine = createEngine(config, {
    now: clock.now,
    log: (line) => send({ type: 'log', level: 'info', line }),
    libraryPath: config.libraryPath ?? undefined,
  });
  const executor = createExecutor({
    engine,
    clock,
    emit: send,
    onFailure(error) {
      if (error.code !== 'OUT_OF_MEMORY' && error.code !== 'GPU_ERROR') return;
      send({ type: 'log', level: 'warn', line: `${error.code}: restarting the compute process with a fresh heap` });
      setImmediate(() => process.exit(error.code === 'GPU_ERROR' ? EXIT_GPU_ERROR : EXIT_OUT_OF_MEMORY));
    },
  });
  process.on('message', (raw) => {
    let command;
    try {
      command = parseComputeCommand(raw);
    } catch (e) {
      send({ type: 'log', level: 'error', line: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (command.type === 'shutdown') process.exit(0);
    executor.handle(command);
  });
  process.on('disconnect', () => process.exit(0)); // the bot is gone
  engine.ready().then(
    ({ backend }) => send({ type: 'ready', engine: `${backend.name} · ${config.model}` }),
    (e: unknown) => send({ type: 'ready', engine: `${config.backend} · ${config.model}`, error: errorToWire(e) }),
  );
}

main();
