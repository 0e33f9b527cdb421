export { Store, openStore } from './store.ts';
export type { OpenStoreOptions } from './store.ts';
export { migrate, migrations } from './migrations.ts';
export type { Migration } from './migrations.ts';
export { classDir, runModelDir, STORE_FILE } from './paths.ts';
export type * from './types.ts';
