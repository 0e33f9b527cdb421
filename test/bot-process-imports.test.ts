/**
 * The bot process never loads TensorFlow.js: everything reachable from `npm start`'s entry (static imports and
 * dynamic import() of local modules) is walked, and no module of @tensorflow/* or the engine is among them. The
 * compute process's entry (bot/compute/main.ts) is forked by path, not imported, so it is not reachable here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPECIFIER = /(?:^|[^\w.])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Every local module reachable from `entry`, and every package it names. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, 'utf8').replace(/^\s*import\s+type\s[^;]+;/gm, '').replace(/^\s*export\s+type\s[^;]+;/gm, '');
    for (const m of source.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec) continue;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        assert.ok(existsSync(target), `${path.relative(root, file)} imports ${spec}, which does not exist`);
        todo.push(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

test('npm start (bot/start.ts) reaches no TensorFlow.js module and no engine code', () => {
  const { files, packages } = reachable(path.join(root, 'bot', 'start.ts'));
  const rel = [...files].map((f) => path.relative(root, f));
  assert.ok(rel.includes(path.join('bot', 'discord', 'index.ts')) && rel.includes(path.join('commands', 'train.ts')), 'the walk sees the adapters and commands');
  assert.deepEqual([...packages].filter((p) => p.startsWith('@tensorflow') || p === 'webgpu'), []);
  for (const forbidden of ['core/pipeline/', 'core/model/', 'core/train/', 'core/kernels/', 'core/sample/generate.ts', 'core/backend.ts', 'bot/compute/main.ts']) {
    assert.deepEqual(rel.filter((f) => f.startsWith(forbidden.split('/').join(path.sep))), [], `the bot process must not load ${forbidden}`);
  }
});

test('the compute entry (bot/compute/main.ts) is where the engine lives', () => {
  const { packages, files } = reachable(path.join(root, 'bot', 'compute', 'main.ts'));
  assert.ok(packages.has('@tensorflow/tfjs-core'));
  assert.ok([...files].some((f) => f.endsWith(path.join('core', 'pipeline', 'tfjs-engine.ts'))));
});
