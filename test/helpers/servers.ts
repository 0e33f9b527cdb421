/**
 * Real PostgreSQL and Redis servers for tests: Debian's binaries started on 127.0.0.1 on a free port, each with its
 * own temporary data folder, waited for, and stopped (folder removed) by the test.
 *
 * Where the binaries live: QUIJOTE_PG_BIN (a folder holding initdb and postgres) or the newest
 * /usr/lib/postgresql/<n>/bin, else `postgres` on PATH; QUIJOTE_REDIS_SERVER or `redis-server` on PATH or /usr/bin.
 * `.ci/run` installs them (apt). PostgreSQL refuses to run as root, so when the tests run as root (CI does),
 * initdb and postgres run as `nobody` through util-linux's `setpriv`, and the data folder is handed to that user.
 *
 * Missing binaries: outside CI the tests skip and say why; with CI=true `serverTest` does not skip, so the test
 * fails on the missing binary (a skip in CI would hide an untested transport).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL'); // a crashed test must not leave servers behind
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

/** The folder with initdb and postgres, or null. */
export function postgresBinDir(): string | null {
  const env = process.env.QUIJOTE_PG_BIN;
  if (env) return fs.existsSync(path.join(env, 'postgres')) ? env : null;
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(root, versions[0], 'bin');
  }
  const p = onPath('postgres');
  return p && fs.existsSync(path.join(path.dirname(fs.realpathSync(p)), 'initdb')) ? path.dirname(fs.realpathSync(p)) : null;
}

export function redisServerBin(): string | null {
  const env = process.env.QUIJOTE_REDIS_SERVER;
  if (env) return fs.existsSync(env) ? env : null;
  return onPath('redis-server') ?? (fs.existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null);
}

const missingWhy = {
  postgres: 'PostgreSQL not found (install Debian\'s postgresql-15, or set QUIJOTE_PG_BIN to its bin folder)',
  redis: 'redis-server not found (install Debian\'s redis-server, or set QUIJOTE_REDIS_SERVER)',
};

/**
 * node:test options for a test that needs the servers: a skip with the reason where a binary is missing, except in
 * CI (CI=true), where the test runs and fails on the missing binary.
 */
export function serverTest(...kinds: Array<'postgres' | 'redis'>): { skip?: string } {
  const missing = kinds.filter((k) => (k === 'postgres' ? postgresBinDir() : redisServerBin()) === null);
  if (missing.length === 0 || process.env.CI === 'true') return {};
  return { skip: missing.map((k) => missingWhy[k]).join('; ') };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (isRoot) {
    fs.chmodSync(dir, 0o700);
    fs.chownSync(dir, NOBODY, NOBODY);
  }
  return dir;
}

/** argv for running `bin` as nobody when we are root (postgres refuses root). */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ['setpriv', ['--reuid=' + NOBODY, '--regid=' + NOBODY, '--clear-groups', '--', bin, ...args]] : [bin, args];
}

function startChild(bin: string, args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const [cmd, argv] = asServerUser(bin, args);
  const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => { out = (out + b.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return { child, output: () => out };
}

async function waitFor(what: string, child: ChildProcess, output: () => string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${what} was not ready after ${timeoutMs} ms:\n${output()}`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface PostgresServer {
  port: number;
  /** URL of the `postgres` database (superuser `postgres`, trust auth, loopback only). */
  url: string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

let dbCounter = 0;

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(missingWhy.postgres);
  const dir = tempDir('quijote-pg-');
  const data = path.join(dir, 'data');
  const [cmd, argv] = asServerUser(path.join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const init = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error?.message}`);
  const port = await freePort();
  const { child, output } = startChild(path.join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
  ], dir);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await waitFor('postgres', child, output, async () => { await query('SELECT 1'); return true; });
  return {
    port,
    url,
    async createDatabase(name = `t${process.pid}_${++dbCounter}`) {
      await query(`CREATE DATABASE "${name}"`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await stopChild(child, 'SIGINT'); // fast shutdown: disconnects clients, no checkpoint wait
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisServer {
  port: number;
  url: string;
  /** Sends one inline command and returns the raw reply (for tests: CONFIG GET, DEBUG SLEEP, ...). */
  command(line: string): Promise<string>;
  /** Kills the server with SIGKILL (a crash) without removing its folder; `restart` brings it back on the same port. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function redisInline(port: number, line: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis: no reply to ${line}`)); }, timeoutMs);
    sock.on('connect', () => sock.write(line + '\r\n'));
    sock.on('data', (b) => {
      buf += b.toString();
      if (buf.endsWith('\r\n')) { clearTimeout(timer); sock.end(); resolve(buf); }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Redis as the issue requires it (AOF on, noeviction); `extraArgs` override, e.g. to test the start-up check. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const bin = redisServerBin();
  if (!bin) throw new Error(missingWhy.redis);
  const dir = tempDir('quijote-redis-');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes',
    '--maxmemory-policy', 'noeviction', '--save', '', '--daemonize', 'no', ...extraArgs];
  let proc = startChild(bin, args, dir);
  const ready = () => waitFor('redis-server', proc.child, proc.output, async () => (await redisInline(port, 'PING', 500)).startsWith('+PONG'));
  await ready();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command: (line) => redisInline(port, line),
    async kill() { await stopChild(proc.child, 'SIGKILL'); },
    async restart() { proc = startChild(bin, args, dir); await ready(); },
    async stop() {
      await stopChild(proc.child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
