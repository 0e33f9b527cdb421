/**
 * Opens the async store the configuration asks for: PostgreSQL when a database URL is given (the district), else
 * SQLite under the data folder (the embedded default, unchanged).
 */
import type { AsyncStore } from './async-store.ts';
import { PostgresStore } from './postgres.ts';
import { openSqliteAsyncStore } from './sqlite-async.ts';
import type { Clock } from './types.ts';

export async function openAsyncStore(options: { databaseUrl: string | null; dataDir: string; clock: Clock; onIdleError?: (e: Error) => void }): Promise<AsyncStore> {
  if (options.databaseUrl) return PostgresStore.open({ url: options.databaseUrl, clock: options.clock, onIdleError: options.onIdleError });
  return openSqliteAsyncStore({ dataDir: options.dataDir, clock: options.clock });
}
