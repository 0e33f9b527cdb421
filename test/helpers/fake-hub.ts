/**
 * A fake Hugging Face Hub on 127.0.0.1 speaking the same HTTP shape as huggingface.co:
 * GET /api/models/{id}/revision/{rev}, HEAD/GET /{id}/resolve/{rev}/{file}. "LFS" files answer the
 * resolve with a 302 to /cdn/<sha256> carrying X-Linked-Etag / X-Linked-Size, like the real Hub;
 * the others answer 200 with a quoted ETag. The CDN honours Range requests and can cut a response.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo { sha: string; files: Record<string, Uint8Array>; lfs?: string[] }
export interface RequestLog { method: string; url: string; range: string | null; authorization: string | null }
export interface Cut { file: string; afterBytes: number; times: number }

export interface FakeHub {
  endpoint: string;
  requests: RequestLog[];
  cuts: Cut[];
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: RequestLog[] = [];
  const cuts: Cut[] = [];
  const cdn = new Map<string, { file: string; data: Uint8Array }>();
  for (const repo of Object.values(repos)) {
    for (const f of repo.lfs ?? []) cdn.set(sha256(repo.files[f]), { file: f, data: repo.files[f] });
  }

  const send = (req: IncomingMessage, res: ServerResponse, file: string, data: Uint8Array, headers: Record<string, string>): void => {
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= data.length) { res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }); res.end(); return; }
    }
    const body = data.subarray(start);
    res.writeHead(m ? 206 : 200, {
      ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(body.length),
      ...(m ? { 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    if (req.method === 'HEAD') { res.end(); return; }
    const cut = cuts.find((c) => c.file === file && c.times > 0);
    if (cut) {
      cut.times--;
      res.write(body.subarray(0, cut.afterBytes), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', url: url.pathname, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const repo = repos[api[1]];
      const rev = decodeURIComponent(api[2]);
      if (!repo || (rev !== 'main' && rev !== repo.sha)) { res.writeHead(404, { 'Content-Type': 'application/json' }); res.end('{"error":"Repository not found"}'); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: api[1], sha: repo.sha, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }));
      return;
    }
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const repo = repos[resolve[1]];
      const data = repo?.files[resolve[3]];
      if (!repo || !data || (resolve[2] !== 'main' && resolve[2] !== repo.sha)) { res.writeHead(404); res.end('Entry not found'); return; }
      if (repo.lfs?.includes(resolve[3])) {
        const hash = sha256(data);
        res.writeHead(302, { Location: `/cdn/${hash}`, 'X-Linked-Etag': `"${hash}"`, 'X-Linked-Size': String(data.length), 'X-Repo-Commit': repo.sha, 'Content-Length': '0' });
        res.end();
        return;
      }
      send(req, res, resolve[3], data, { ETag: `W/"${sha1(data)}"`, 'X-Repo-Commit': repo.sha });
      return;
    }
    const blob = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (blob && cdn.has(blob[1])) {
      const { file, data } = cdn.get(blob[1])!;
      send(req, res, file, data, { ETag: `"${blob[1]}"` });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    cuts,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
