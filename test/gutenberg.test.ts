import { test } from 'node:test';
import { PY_BOOK_LINES_DEF } from './helpers/py-reference.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { cachePathFor, loadBookText, writeSelectedLines } from '../core/text/source.ts';
import { extractBodyLines, hasGutenbergMarkers, pyStrip } from '../core/text/gutenberg.ts';
import { isQuijoteError } from '../core/errors.ts';

const SHARED = resolve(process.env.QUIJOTE_SHARED ?? '../shared');
const BOOK = join(SHARED, 'data', 'pg2000-don-quijote.txt');

function book(body: string[], opts: { start?: string; end?: string; header?: string[]; footer?: string[] } = {}): string {
  return [
    ...(opts.header ?? ['Title: Prueba', '']),
    opts.start ?? '*** START OF THE PROJECT GUTENBERG EBOOK PRUEBA ***',
    ...body,
    opts.end ?? '*** END OF THE PROJECT GUTENBERG EBOOK PRUEBA ***',
    ...(opts.footer ?? ['Licencia', 'más licencia']),
  ].join('\n');
}

const BODY = ['', 'Prólogo', '  Tasa  ', '', 'Capítulo primero. Que trata', '  En un lugar de la Mancha,  ', '', 'de cuyo nombre', '   ', 'fin'];

test('keeps only the body between the markers, from "Capítulo primero", non-empty lines trimmed', () => {
  const lines = extractBodyLines(book(BODY), { source: 'prueba.txt' });
  assert.deepEqual(lines, ['Capítulo primero. Que trata', 'En un lugar de la Mancha,', 'de cuyo nombre', 'fin']);
});

test('accepts the older "THIS PROJECT GUTENBERG EBOOK" spelling', () => {
  const raw = book(BODY, {
    start: '*** START OF THIS PROJECT GUTENBERG EBOOK DON QUIJOTE ***',
    end: '*** END OF THIS PROJECT GUTENBERG EBOOK DON QUIJOTE ***',
  });
  assert.deepEqual(extractBodyLines(raw, { source: 'viejo.txt' }), ['Capítulo primero. Que trata', 'En un lugar de la Mancha,', 'de cuyo nombre', 'fin']);
});

test('strips a BOM and turns CRLF (and lone CR) into LF', () => {
  const raw = '\uFEFF' + book(['Capítulo primero', 'uno', 'dos'], { header: ['\uFEFFTitle'] }).replace(/\n/g, '\r\n').replace('uno\r\n', 'uno\r');
  const lines = extractBodyLines(raw, { source: 'crlf.txt' });
  assert.deepEqual(lines, ['Capítulo primero', 'uno', 'dos']);
  for (const l of lines) assert.ok(!/[\r\uFEFF]/.test(l));
});

test('without a "Capítulo primero" line the body starts right after the START marker', () => {
  const lines = extractBodyLines(book(['', 'Prólogo', 'Capítulo segundo', 'texto']), { source: 'x.txt' });
  assert.deepEqual(lines, ['Prólogo', 'Capítulo segundo', 'texto']);
});

test('startAt overrides the default start line; null keeps the front matter; /g regexes are safe', () => {
  const raw = book(BODY);
  assert.deepEqual(extractBodyLines(raw, { source: 'x', startAt: /^de cuyo/ }), ['de cuyo nombre', 'fin']);
  assert.deepEqual(extractBodyLines(raw, { source: 'x', startAt: null }), ['Prólogo', 'Tasa', 'Capítulo primero. Que trata', 'En un lugar de la Mancha,', 'de cuyo nombre', 'fin']);
  assert.deepEqual(extractBodyLines(raw, { source: 'x', startAt: /^nada de esto/ })[0], 'Prólogo');
  const g = /tasa/gi;
  assert.deepEqual(extractBodyLines(raw, { source: 'x', startAt: g })[0], 'Tasa');
  assert.deepEqual(extractBodyLines(raw, { source: 'x', startAt: g })[0], 'Tasa');
});

test('a START/END look-alike inside the body or the header is not a marker', () => {
  const raw = book(['Capítulo primero', 'dijo: *** no es marca ***', 'END OF THE PROJECT GUTENBERG EBOOK sin asteriscos'], {
    header: ['START OF THE PROJECT GUTENBERG EBOOK sin asteriscos'],
  });
  assert.deepEqual(extractBodyLines(raw, { source: 'x' }), ['Capítulo primero', 'dijo: *** no es marca ***', 'END OF THE PROJECT GUTENBERG EBOOK sin asteriscos']);
});

test('missing markers throw TEXT_MARKERS naming the file and the missing line', () => {
  const noStart = ['Capítulo primero', '*** END OF THE PROJECT GUTENBERG EBOOK X ***'].join('\n');
  const noEnd = ['*** START OF THE PROJECT GUTENBERG EBOOK X ***', 'Capítulo primero'].join('\n');
  for (const [raw, which] of [[noStart, 'START'], [noEnd, 'END'], ['<html>Not found</html>', 'START']] as const) {
    assert.throws(
      () => extractBodyLines(raw, { source: '/tmp/libro.txt' }),
      (e: unknown) => isQuijoteError(e, 'TEXT_MARKERS') && e.message.includes('/tmp/libro.txt') && e.message.includes(`*** ${which} OF`),
    );
  }
  // END before START does not count as an end marker
  const swapped = ['*** END OF THE PROJECT GUTENBERG EBOOK X ***', '*** START OF THE PROJECT GUTENBERG EBOOK X ***', 'a'].join('\n');
  assert.throws(() => extractBodyLines(swapped, { source: 's.txt' }), (e: unknown) => isQuijoteError(e, 'TEXT_MARKERS'));
  assert.equal(hasGutenbergMarkers(swapped), false);
  assert.equal(hasGutenbergMarkers(book(['a'])), true);
});

test('trimming follows Python str.strip (U+FEFF inside the text is kept, U+0085 and U+3000 removed)', () => {
  assert.equal(pyStrip('\u3000\t hola \u0085\u001f'), 'hola');
  assert.equal(pyStrip('\uFEFFhola'), '\uFEFFhola');
  assert.equal(pyStrip(' \u00a0 '), '');
});

const PY_BOOK_LINES = PY_BOOK_LINES_DEF + `
print(json.dumps(book_lines(sys.argv[1]), ensure_ascii=False))
`;

test('real Quijote: starts at "Capítulo primero" and equals torch_reference.book_lines', (t) => {
  if (!existsSync(BOOK)) return t.skip(`${BOOK} not found (set QUIJOTE_SHARED)`);
  const lines = extractBodyLines(readFileSync(BOOK, 'utf8'), { source: BOOK });
  assert.match(lines[0], /^Capítulo primero\. Que trata de la condición/);
  assert.ok(lines.length > 30000, `only ${lines.length} lines`);
  assert.ok(!lines.some((l) => l.includes('PROJECT GUTENBERG')), 'licence text leaked into the body');
  const py = spawnSync('python3', ['-c', PY_BOOK_LINES, BOOK], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (py.error) return t.skip(`python3 not available: ${py.error.message}`);
  assert.equal(py.status, 0, py.stderr);
  const ref = JSON.parse(py.stdout) as string[];
  assert.equal(lines.length, ref.length);
  assert.deepEqual(lines, ref);
});

// ---------------------------------------------------------------- core/text/source.ts

const SMALL_BOOK = [
  '\uFEFFTitle: Don Quijote',
  '*** START OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***',
  'Prólogo',
  'Capítulo primero. Que trata de la condición',
  'En un lugar de la Mancha, de cuyo nombre',
  '*** END OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***',
  'licencia',
].join('\r\n');

async function serve(handler: (path: string) => { status: number; body: string }): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const r = handler(req.url ?? '');
    res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(r.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, server };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'quijote-source-'));
}

test('downloads the book once, caches it on disk, and reads the cache afterwards', async (t) => {
  const { url, hits, server } = await serve(() => ({ status: 200, body: SMALL_BOOK }));
  t.after(() => server.close());
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cacheDir = join(dir, 'nested', 'cache');
  const first = await loadBookText({ url: `${url}/cache/epub/2000/pg2000.txt`, cacheDir });
  assert.equal(first.text, SMALL_BOOK);
  assert.equal(hits.length, 1);
  assert.equal(first.source, cachePathFor(`${url}/cache/epub/2000/pg2000.txt`, cacheDir));
  assert.match(first.source, /pg2000-[0-9a-f]{8}\.txt$/);
  assert.equal(await readFile(first.source, 'utf8'), SMALL_BOOK);
  assert.deepEqual(await readdir(cacheDir), [first.source.split('/').pop()], 'a temporary file was left behind');
  const second = await loadBookText({ url: `${url}/cache/epub/2000/pg2000.txt`, cacheDir });
  assert.equal(second.text, SMALL_BOOK);
  assert.equal(hits.length, 1, 'the second call went to the server');
  assert.deepEqual(extractBodyLines(second.text, { source: second.source }), ['Capítulo primero. Que trata de la condición', 'En un lugar de la Mancha, de cuyo nombre']);
});

test('the injected fetch is used, and different URLs get different cache files', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const calls: string[] = [];
  const fakeFetch = (async (input: string | URL | Request) => {
    calls.push(String(input));
    return new Response(SMALL_BOOK.replace('Prólogo', String(input)), { status: 200 });
  }) as typeof fetch;
  const a = await loadBookText({ url: 'https://example.org/a/pg2000.txt', cacheDir: dir, fetch: fakeFetch });
  const b = await loadBookText({ url: 'https://example.org/b/pg2000.txt', cacheDir: dir, fetch: fakeFetch });
  assert.deepEqual(calls, ['https://example.org/a/pg2000.txt', 'https://example.org/b/pg2000.txt']);
  assert.notEqual(a.source, b.source);
  assert.ok(a.text.includes('/a/') && b.text.includes('/b/'));
});

test('HTTP errors and non-Gutenberg pages fail with DOWNLOAD_FAILED and are not cached', async (t) => {
  const { url, hits, server } = await serve((p) => (p === '/missing.txt' ? { status: 404, body: 'nope' } : { status: 200, body: '<html>captive portal</html>' }));
  t.after(() => server.close());
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadBookText({ url: `${url}/missing.txt`, cacheDir: dir }), (e: unknown) => isQuijoteError(e, 'DOWNLOAD_FAILED') && e.message.includes('HTTP 404') && e.message.includes('QUIJOTE_TEXT'));
  await assert.rejects(loadBookText({ url: `${url}/portal.txt`, cacheDir: dir }), (e: unknown) => isQuijoteError(e, 'DOWNLOAD_FAILED') && e.message.includes('START/END'));
  await assert.rejects(loadBookText({ url: `${url}/portal.txt`, cacheDir: dir }), (e: unknown) => isQuijoteError(e, 'DOWNLOAD_FAILED'));
  assert.equal(hits.length, 3, 'a bad download must not be cached');
  assert.deepEqual(await readdir(dir).catch(() => []), []);
});

test('a network failure is DOWNLOAD_FAILED with the cause', async () => {
  const dir = await tempDir();
  const failing = (async () => {
    throw new TypeError('fetch failed: ECONNREFUSED');
  }) as typeof fetch;
  await assert.rejects(
    loadBookText({ url: 'https://www.gutenberg.org/cache/epub/2000/pg2000.txt', cacheDir: dir, fetch: failing }),
    (e: unknown) => isQuijoteError(e, 'DOWNLOAD_FAILED') && e.message.includes('ECONNREFUSED') && e.cause instanceof TypeError,
  );
  await rm(dir, { recursive: true, force: true });
});

test('a local file is read as is; a missing one is TEXT_NOT_FOUND naming it', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'quijote.txt');
  await writeFile(file, SMALL_BOOK);
  const never = (async () => assert.fail('must not download')) as typeof fetch;
  assert.deepEqual(await loadBookText({ file, url: 'https://example.org/x.txt', cacheDir: dir, fetch: never }), { text: SMALL_BOOK, source: file });
  const missing = join(dir, 'no-existe.txt');
  await assert.rejects(
    loadBookText({ file: missing, url: 'https://example.org/x.txt', cacheDir: dir, fetch: never }),
    (e: unknown) => isQuijoteError(e, 'TEXT_NOT_FOUND') && e.message.includes(missing) && e.message.includes('no existe') && e.message.includes('QUIJOTE_TEXT'),
  );
  await mkdir(join(dir, 'carpeta'));
  await assert.rejects(loadBookText({ file: join(dir, 'carpeta'), url: 'x', cacheDir: dir }), (e: unknown) => isQuijoteError(e, 'TEXT_NOT_FOUND') && e.message.includes('carpeta'));
  const latin1 = join(dir, 'latin1.txt');
  await writeFile(latin1, Buffer.from('Cap\xedtulo', 'latin1'));
  await assert.rejects(loadBookText({ file: latin1, url: 'x', cacheDir: dir }), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT') && e.message.includes('UTF-8'));
});

test('writeSelectedLines writes don_quijote_N.txt, one line each', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'data');
  const path = await writeSelectedLines(out, 2, ['Capítulo primero.', 'En un lugar de la Mancha,']);
  assert.equal(path, join(out, 'don_quijote_2.txt'));
  assert.equal(await readFile(path, 'utf8'), 'Capítulo primero.\nEn un lugar de la Mancha,\n');
  assert.deepEqual(await readdir(out), ['don_quijote_2.txt']);
  await assert.rejects(writeSelectedLines(out, 0, []), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});
