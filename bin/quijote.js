#!/usr/bin/env node
// Entry point of the `quijote` CLI: registers tsx (TypeScript on the fly, ESM and CommonJS) and runs bot/cli/main.ts.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';
registerEsm();
registerCjs();
await import('../bot/cli/main.ts');
