import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isQuijoteError } from '../core/errors.ts';
import { loadTokenizer, type TextTokenizer } from '../core/model/tokenizer.ts';

const GOLDEN = fileURLToPath(new URL('./fixtures/gpt2-tiny-golden/', import.meta.url));
const SHARED = resolve(process.env.QUIJOTE_SHARED ?? fileURLToPath(new URL('../../shared', import.meta.url)));
const MINI = join(SHARED, 'models/es-novelas-mini');
const QUIJOTE = join(SHARED, 'data/pg2000-don-quijote.txt');

interface Case { text: string; ids: number[] }
const golden = JSON.parse(await readFile(join(GOLDEN, 'golden.json'), 'utf8')) as { tokenizer: Case[] };
const exists = async (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

let tmp: string;
before(async () => { tmp = await mkdtemp(join(tmpdir(), 'quijote-tok-')); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

async function vocabMergesOnly(src: string, name: string, withConfig: boolean): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir);
  for (const f of ['vocab.json', 'merges.txt', ...(withConfig ? ['tokenizer_config.json'] : [])]) await copyFile(join(src, f), join(dir, f));
  return dir;
}

function checkGolden(tok: TextTokenizer): void {
  assert.ok(golden.tokenizer.length >= 6);
  for (const { text, ids } of golden.tokenizer) {
    assert.deepEqual(tok.encode(text), ids, `encode ${JSON.stringify(text)}`);
    assert.equal(tok.decode(ids), text, `decode ${JSON.stringify(text)}`);
  }
}

describe('golden tokenizer fixture', () => {
  test('tokenizer.json matches the Python ids and round-trips', async () => {
    const tok = await loadTokenizer(GOLDEN);
    checkGolden(tok);
    assert.equal(tok.eosTokenId, 0);
    assert.equal(tok.vocabSize, 8192);
  });

  test('vocab.json + merges.txt alone give the same ids', async () => {
    const tok = await loadTokenizer(await vocabMergesOnly(GOLDEN, 'vm', false));
    checkGolden(tok);
    assert.equal(tok.eosTokenId, 0);
    assert.equal(tok.vocabSize, 8192);
  });

  test('special token text maps to its id and decodes back', async () => {
    const tok = await loadTokenizer(await vocabMergesOnly(GOLDEN, 'vm-cfg', true));
    const ids = tok.encode('Fin.<|endoftext|>Otro');
    assert.ok(ids.includes(0), JSON.stringify(ids));
    assert.equal(tok.decode(ids), 'Fin.<|endoftext|>Otro');
  });

  test('edge cases: empty input, unknown ids, no cleanup of spaces', async () => {
    const tok = await loadTokenizer(GOLDEN);
    assert.deepEqual(tok.encode(''), []);
    assert.equal(tok.decode([]), '');
    const ids = tok.encode('hola , mundo .');
    assert.equal(tok.decode([...ids, 99999]), 'hola , mundo .');
  });

  test('eos_token from tokenizer_config.json wins over <|endoftext|>', async () => {
    const dir = await vocabMergesOnly(GOLDEN, 'eos', false);
    const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: { content: 'Ġde' } }));
    assert.equal((await loadTokenizer(dir)).eosTokenId, vocab['Ġde']);
  });

  test('a folder without a tokenizer is MODEL_NOT_FOUND; a broken tokenizer.json is MODEL_CORRUPT', async () => {
    await assert.rejects(loadTokenizer(tmp), (e: unknown) => isQuijoteError(e, 'MODEL_NOT_FOUND') && e.message.includes(tmp));
    const dir = join(tmp, 'broken');
    await mkdir(dir);
    await writeFile(join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(dir), (e: unknown) => isQuijoteError(e, 'MODEL_CORRUPT') && e.message.includes('tokenizer.json'));
  });
});

describe('es-novelas-mini (shared)', () => {
  test('tokenizer.json and vocab+merges agree on the golden strings and on Quijote lines', async (t) => {
    if (!(await exists(join(MINI, 'tokenizer.json')))) return t.skip(`${MINI} not present`);
    const fromJson = await loadTokenizer(MINI);
    const fromFiles = await loadTokenizer(await vocabMergesOnly(MINI, 'mini', true));
    checkGolden(fromJson);
    checkGolden(fromFiles);
    assert.equal(fromJson.eosTokenId, 0);
    if (!(await exists(QUIJOTE))) return;
    const lines = (await readFile(QUIJOTE, 'utf8')).split('\n').slice(0, 400).join('\n');
    const ids = fromJson.encode(lines);
    assert.ok(ids.length > 1000);
    assert.deepEqual(fromFiles.encode(lines), ids);
    assert.equal(fromJson.decode(ids), lines);
  });
});
