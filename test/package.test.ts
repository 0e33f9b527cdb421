/**
 * An honest install: every runtime dependency is used by the running code, test-only packages are dev
 * dependencies, the libtensorflow backends are not installed silently, and the licences are in one place.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  private?: boolean; license?: string; engines?: { node?: string }; scripts: Record<string, string>;
  dependencies: Record<string, string>; devDependencies: Record<string, string>; optionalDependencies?: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return name === 'node_modules' || name === 'results' ? [] : sources(rel);
    return /\.(ts|js|mjs)$/.test(name) ? [rel] : [];
  });
}

const RUNTIME_DIRS = ['bin', 'bot', 'commands', 'config', 'core', 'scripts', 'bench'];
const runtime = RUNTIME_DIRS.flatMap(sources).map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
const tests = sources('test').map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
const imports = (code: string, name: string) =>
  new RegExp(`(from\\s+|import\\s*\\(\\s*|import\\s+)['"]${name.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(code);

test('every runtime dependency is imported by the running code (or run by an npm script)', () => {
  for (const name of Object.keys(pkg.dependencies)) {
    const used = imports(runtime, name) || Object.values(pkg.scripts).some((s) => s.includes(`--import ${name}`));
    assert.ok(used, `${name} is a dependency but nothing outside test/ uses it`);
  }
  assert.ok(!('@huggingface/hub' in pkg.dependencies), '@huggingface/hub is never imported');
});

test('test-only packages are dev dependencies; runtime code imports no dev dependency', () => {
  assert.ok('ws' in pkg.devDependencies && !('ws' in pkg.dependencies));
  assert.ok(imports(tests, 'ws'), 'the tests do use ws');
  for (const name of Object.keys(pkg.devDependencies)) {
    if (name.startsWith('@types/') || name === 'typescript') continue;
    assert.ok(!imports(runtime, name), `${name} is a dev dependency but ${RUNTIME_DIRS.join('/')} imports it`);
  }
});

test('libtensorflow is an explicit opt-in, documented; the default backend is said in the README', () => {
  const all = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies };
  for (const name of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) assert.ok(!(name in all), `${name} must not install silently`);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /npm install --no-save @tensorflow\/tfjs-node-gpu@4\.22\.0/);
  assert.match(readme, /\*\*wasm\*\* \(cualquier CPU; es el que se usa por defecto sin GPU\)/);
  assert.match(pkg.engines?.node ?? '', /^>=20$/, 'nothing rules out Node 22 or 24');
});

test('licences: MIT LICENSE file, private package, «Créditos y licencias» in the README', () => {
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.private, true);
  assert.ok(existsSync(join(ROOT, 'LICENSE')));
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const credits = readme.slice(readme.indexOf('## Créditos y licencias'), readme.indexOf('## English summary'));
  assert.ok(credits.length > 100, 'the section exists');
  for (const needle of [/MIT/, /licencia de Project Gutenberg/, /datificate\/gpt2-small-spanish.*Apache-2\.0/, /CC BY 4\.0/, /CLiGS/]) {
    assert.match(credits, needle);
  }
});
