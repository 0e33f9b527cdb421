export { createJobQueue, INTERACTIVE_PRIORITY, TRAIN_STEP_PRIORITY } from './memory-queue.ts';
export type { MemoryJobQueueOptions } from './memory-queue.ts';
export type * from './types.ts';
