/**
 * The CLI as people expect it: per-command --help with every flag and its default, --version, unknown flags that
 * name the closest valid one, and progress lines that fit the terminal (redrawn in place on a TTY, one plain
 * line per step elsewhere).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closest, FLAGS, parseCli } from '../bot/cli/args.ts';
import { commandHelp, usage } from '../bot/cli/help.ts';
import { downloadLine, statusWriter, trainLine } from '../bot/cli/progress.ts';
import { COMMAND_SPECS, COMMON_FLAGS } from '../bot/cli/spec.ts';
import { DEFAULTS, loadConfig } from '../config/index.ts';
import { isQuijoteError } from '../core/errors.ts';

const ROOT = new URL('..', import.meta.url).pathname;

function quijote(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/quijote.js'), ...args], {
    cwd: mkdtempSync(join(tmpdir(), 'cli-help-')), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('quijote train --help and story --help print that command\'s flags, not the general help', () => {
  const train = quijote(['train', '--help'], { N_LINES: '321' });
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /^quijote train — /);
  assert.match(train.stdout, /--lines N +primeras N líneas del Quijote para entrenar \(por\s+defecto: 321\)/, 'the default comes from the configuration');
  assert.notEqual(train.stdout, usage());
  const story = quijote(['story', '-h']);
  assert.equal(story.code, 0, story.stderr);
  assert.match(story.stdout, /^quijote story — /);
  assert.match(story.stdout, /--compare/);
  assert.doesNotMatch(story.stdout, /--lines/, 'story does not take --lines');
  assert.equal(quijote(['help', 'download']).stdout, commandHelp(COMMAND_SPECS.find((c) => c.name === 'download')!, DEFAULTS));
  for (const out of [train.stdout, story.stdout, usage()]) {
    for (const line of out.split('\n')) assert.ok([...line].length <= 80, `help lines fit 80 columns: ${line}`);
  }
});

test('every command\'s --help lists every flag it accepts, with its default where it has one', () => {
  const config = loadConfig({ EPOCHS: '3', QUIJOTE_MODEL: 'org/modelo' });
  for (const spec of COMMAND_SPECS) {
    const help = commandHelp(spec, config).replace(/\n {28}/g, ' '); // join wrapped descriptions
    for (const f of [...spec.flags, ...COMMON_FLAGS]) {
      const line = help.split('\n').find((l) => new RegExp(`^ +(-\\w, )?--${f.name}( |$)`).test(l));
      assert.ok(line, `${spec.name}: --${f.name} is documented`);
      const def = f.default?.(config);
      if (def) assert.ok(line.includes(`(por defecto: ${def})`), `${spec.name} --${f.name} shows its default ${def}: ${line}`);
    }
  }
  const train = commandHelp(COMMAND_SPECS[0], config);
  assert.match(train.replace(/\s+/g, ' '), /--epochs N pasadas completas por esas líneas \(por defecto: 3\)/);
  // no flag exists that no command documents (the audit found ten), and no command documents an unknown flag
  const documented = new Set([...COMMAND_SPECS.flatMap((c) => c.flags.map((f) => f.name)), ...COMMON_FLAGS.map((f) => f.name)]);
  assert.deepEqual([...documented].sort(), Object.keys(FLAGS).sort());
  // the flags the CLI's code reads are all declared
  for (const file of ['bot/cli/commands.ts', 'bot/cli/args.ts', 'bot/cli/download.ts', 'bench/run.ts']) {
    const src = readFileSync(join(ROOT, file), 'utf8');
    for (const m of src.matchAll(/\b(?:flags|f)(?:\.([a-z]\w*)|\['([a-z-]+)'\])/g)) {
      const name = m[1] ?? m[2];
      if (name in FLAGS || ['name', 'type', 'arg', 'help', 'default'].includes(name)) continue; // the latter: FlagSpec fields in args.ts
      assert.fail(`${file} reads --${name}, which no command declares`);
    }
  }
});

test('--version prints the package version and Node\'s', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const args of [['--version'], ['-v'], ['train', '--version']]) {
    const r = quijote(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `quijote ${pkg.version} (Node ${process.version}, ${process.platform} ${process.arch})`);
  }
});

test('an unknown flag or command names the closest valid one; a missing value says so', () => {
  const cases: Array<[string[], RegExp]> = [
    [['train', '--lienes', '5'], /`quijote train` no tiene la opción --lienes\. ¿Quisiste decir --lines\?/],
    [['train', '--epoch', '2'], /¿Quisiste decir --epochs\?/],
    [['generate', '--max-tokens', '9'], /¿Quisiste decir --max-new-tokens\?/],
    [['story', '--lines', '9'], /`quijote story` no tiene la opción --lines/],
    [['download', '--modle', 'x/y'], /¿Quisiste decir --model\?/],
    [['trian'], /Orden desconocida: trian\. ¿Quisiste decir `quijote train`\?/],
    [['score', '--model'], /A --model le falta su valor \(--model DIR_O_ID\)/],
    [['train', '--lines', '--epochs', '2'], /A --lines le falta su valor/],
    [['train', '--json=yes'], /--json no lleva valor/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseCli(argv), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT') && re.test(e.message) && /--help/.test(e.message), argv.join(' '));
  }
  assert.equal(closest('lr', ['lines', 'lr', 'epochs']), 'lr');
  assert.equal(closest('grad-acum', ['grad-accum', 'greedy']), 'grad-accum');
  const r = quijote(['train', '--lienes', '5']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const parsed = parseCli(['score', '--model', 'm', 'hola', 'mundo']);
  assert.deepEqual({ ...parsed, flags: { ...parsed.flags } }, { command: 'score', positionals: ['hola', 'mundo'], flags: { model: 'm' } });
});

const progress = { step: 123, totalSteps: 4567, epoch: 1.25, loss: 4.90412, learningRate: 7e-5, tokensPerSecond: 12345, etaSeconds: 3725 };

test('progress lines fit the terminal width: fields drop, least important first', () => {
  assert.ok([...trainLine(progress, 200)].length > 80, 'everything at 200 columns (the old line had 99 characters)');
  for (const columns of [40, 60, 80, 100, 120]) {
    const line = trainLine(progress, columns);
    assert.ok([...line].length < columns, `${columns}: ${line} (${[...line].length})`);
    assert.match(line, /paso 123\/4567/);
  }
  assert.match(trainLine(progress, 80), /paso 123\/4567 · loss 4\.9041 · ETA 62m05s/);
  const dl = downloadLine({ file: 'model.safetensors', bytes: 45_200_000, total: 510_300_000, bytesPerSecond: 12_100_000 }, 80);
  assert.match(dl, /^█{2}░+ model\.safetensors 8 % · 45\.2 MB \/ 510\.3 MB · 12\.1 MB\/s$/);
  assert.ok([...dl].length < 80);
});

function fakeStream(isTTY: boolean, columns = 80) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

test('on a TTY the line redraws in place within the width; elsewhere one plain line per step', () => {
  const tty = fakeStream(true, 60);
  const write = statusWriter(tty.stream, () => 0);
  for (let step = 1; step <= 3; step++) write((columns) => trainLine({ ...progress, step, totalSteps: 3 }, columns), step === 3);
  assert.equal(tty.writes.length, 3);
  for (const w of tty.writes) {
    assert.ok(w.startsWith('\r\x1b[2K'), 'returns to the line start and clears it');
    assert.ok([...w.replace('\r\x1b[2K', '').replace('\n', '')].length < 60, w);
  }
  assert.ok(!tty.writes[0].includes('\n') && tty.writes[2].endsWith('\n'), 'a newline only after the last step');
  assert.ok(statusWriter(fakeStream(true, 30).stream, () => 0), 'narrow terminals too');
  const narrow = fakeStream(true, 30);
  statusWriter(narrow.stream, () => 0)('x'.repeat(100));
  assert.ok([...narrow.writes[0].replace('\r\x1b[2K', '')].length < 30, 'any line is cut to the width');

  const log = fakeStream(false);
  const plain = statusWriter(log.stream, () => 0);
  for (let step = 1; step <= 3; step++) plain((columns) => trainLine({ ...progress, step, totalSteps: 3 }, columns), step === 3);
  assert.equal(log.writes.length, 3, 'one line per step');
  for (const w of log.writes) {
    assert.ok(w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b'), JSON.stringify(w));
    assert.match(w, /lr 7\.00e-5\n$/, 'off a TTY nothing is dropped');
  }
  let now = 0;
  const downloads = fakeStream(false);
  const every2s = statusWriter(downloads.stream, () => now, 2000);
  for (let i = 0; i < 50; i++) { every2s(`chunk ${i}`, i === 49); now += 100; }
  assert.deepEqual(downloads.writes, ['chunk 0\n', 'chunk 20\n', 'chunk 40\n', 'chunk 49\n'], 'download chunks: a line every 2 s and the last');
});

test('deploy-commands: --help, --dry-run prints what it would register (no token, no network), typos name the flag', async () => {
  const { toApplicationCommands } = await import('../bot/discord/spec.ts');
  const { commands, localizedCommands } = await import('../commands/index.ts');
  const tsx = import.meta.resolve('tsx');
  const deploy = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, ['--import', tsx, join(ROOT, 'scripts/deploy-commands.ts'), ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'deploy-')), encoding: 'utf8', timeout: 60_000,
      env: { PATH: process.env.PATH, DISCORD_API_URL: 'http://127.0.0.1:9/', ...env }, // a dry run must not reach it
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const help = deploy(['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const flag of ['--global', '--dry-run', '--help']) assert.ok(help.stdout.includes(flag), flag);

  const guild = deploy(['--dry-run'], { DISCORD_GUILD_ID: '876543210987654321' }); // no token: config would refuse an app id alone
  assert.equal(guild.code, 0, guild.stderr);
  assert.match(guild.stdout, new RegExp(`se registrarían ${commands.length} comandos en el servidor`));
  assert.match(guild.stdout, /comandos en el servidor 876543210987654321 con PUT \/applications\/DISCORD_APP_ID\/guilds\/876543210987654321\/commands/);
  assert.match(guild.stdout, /^ {2}\/train lines\? epochs\? lr\? repetir\? archivo\? texto\? mezcla\? — Afina el modelo/m);
  assert.match(guild.stdout, /faltan DISCORD_TOKEN/);
  const json = guild.stdout.slice(guild.stdout.indexOf('\n[') + 1);
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(toApplicationCommands(localizedCommands('es')))));

  const global = deploy(['--dry-run', '--global'], { LOCALE: 'en' });
  assert.equal(global.code, 0, global.stderr);
  assert.match(global.stdout, /PUT \/applications\/DISCORD_APP_ID\/commands/);
  assert.match(global.stdout, /\/train lines\? epochs\? lr\? repetir\? archivo\? texto\? mezcla\? — Fine-tune the class model/);

  const noGuild = deploy(['--dry-run']);
  assert.equal(noGuild.code, 1);
  assert.match(noGuild.stderr, /DISCORD_GUILD_ID está vacío.*--global/);
  const typo = deploy(['--dryrun']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /no tiene la opción --dryrun\. ¿Quisiste decir --dry-run\?/);
});
