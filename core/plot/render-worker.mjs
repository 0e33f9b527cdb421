// The worker thread's entry: registers the TypeScript loader for this thread (hooks of the main thread do not
// reach workers in Node 20), then runs render-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./render-worker.ts');
