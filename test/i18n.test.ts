/**
 * Every user-facing text in the user's language: the loss chart as /train posts it, Discord's description
 * localizations, the .env.example comment on DISCORD_GUILD_ID, and a scan of commands/ for user-facing string
 * literals that bypass the catalogue (commands/messages.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';
import { DISCORD_LOCALES, toApplicationCommands } from '../bot/discord/spec.ts';
import { commands, localizedCommands } from '../commands/index.ts';
import { catalogue, formatNumber, t, type Locale } from '../commands/messages.ts';
import { train } from '../commands/train.ts';
import { renderLossCurve } from '../core/plot/loss-curve.ts';
import { commandContext, createTestRig, PLACE, settle, until } from './helpers/fake-context.ts';

async function trainResults(locale: Locale) {
  const rig = createTestRig({ env: { LOCALE: locale }, engine: { steps: 6 } });
  await train.run(commandContext(rig.services, rig.channel, 'train', { lines: 5 }));
  await rig.services.compute.idle();
  await settle();
  const run = (await rig.services.store.listRuns((await rig.services.store.findClass(PLACE))!.id))[0];
  await until(() => (rig.channel.posts[1]?.edits.length ?? 0) > 0, 'the results with the loss curve (drawn on a worker thread)');
  const results = rig.channel.posts[1]?.current; // posted when the model is saved, edited with the metrics and chart
  assert.ok(results?.image, 'the results carry the chart');
  return { run, results, image: results.image };
}

const chartOptions = (locale: Locale, runId: number, before: number, after: number) => ({
  title: t(locale, 'train.curveTitle', { run: runId }),
  labels: {
    step: t(locale, 'chart.step'), loss: t(locale, 'chart.loss'), train: t(locale, 'chart.train'),
    evalBefore: t(locale, 'chart.evalBefore'), evalAfter: t(locale, 'chart.evalAfter'), noData: t(locale, 'chart.noData'),
  },
  locale,
  evalBefore: before,
  evalAfter: after,
});

test('the loss chart /train posts speaks the bot\'s language: title, axes, legend, decimal separator', async () => {
  const drawn: Record<Locale, string[]> = { es: [], en: [] };
  const png: Partial<Record<Locale, Buffer>> = {};
  for (const locale of ['es', 'en'] as const) {
    const { run, results, image } = await trainResults(locale);
    const m = run.metrics!;
    // what the command posted is exactly this chart, drawn with the catalogue's words
    const expected = renderLossCurve(run.lossCurve!, chartOptions(locale, run.id, m.evalLossBefore, m.evalLossAfter), drawn[locale]);
    assert.ok(image!.data.equals(expected), `${locale}: the posted PNG is the localized chart`);
    assert.equal(image!.filename, locale === 'es' ? `curva-perdida-${run.id}.png` : `loss-curve-${run.id}.png`);
    // the legend writes the eval losses as the message above it does
    const before = formatNumber(locale, m.evalLossBefore, 3);
    assert.ok(results.text.includes(before), `${locale}: message says ${before}: ${results.text}`);
    assert.ok(drawn[locale].includes(`${t(locale, 'chart.evalBefore')} ${before}`), `${locale}: legend ${JSON.stringify(drawn[locale])}`);
    png[locale] = image!.data;
  }
  assert.ok(!png.es!.equals(png.en!));
  assert.deepEqual(drawn.en.filter((s) => /[a-z]/i.test(s)).sort(), ['Training #1: loss per step', 'eval after 3.1', 'eval before 4.2', 'loss', 'step', 'training']);
  assert.deepEqual(drawn.es.filter((s) => /[a-z]/i.test(s)).sort(), ['Entrenamiento #1: pérdida por paso', 'entrenamiento', 'eval. antes 4,2', 'eval. después 3,1', 'paso', 'pérdida']);
  const ticks = (l: Locale) => drawn[l].filter((s) => /^[\d.,]+$/.test(s));
  assert.ok(ticks('es').some((s) => s.includes(',')) && ticks('es').every((s) => !s.includes('.')), `es ticks ${ticks('es')}`);
  assert.ok(ticks('en').some((s) => s.includes('.')) && ticks('en').every((s) => !s.includes(',')), `en ticks ${ticks('en')}`);
});

test('Discord commands and options carry description_localizations in Spanish and English', () => {
  for (const locale of ['es', 'en'] as const) {
    const body = toApplicationCommands(localizedCommands(locale));
    assert.equal(body.length, commands.length);
    for (const cmd of body) {
      const key = `cmd.${cmd.name}.description` as keyof (typeof catalogue)['es'];
      assert.equal(cmd.description, catalogue[locale][key], `${cmd.name}: base description in the bot's language`);
      for (const [lang, discordLocales] of Object.entries(DISCORD_LOCALES) as Array<[Locale, string[]]>) {
        for (const dl of discordLocales) assert.equal(cmd.description_localizations?.[dl as 'es-ES'], catalogue[lang][key], `${cmd.name} ${dl}`);
      }
      for (const o of cmd.options ?? []) {
        const optKey = `cmd.${cmd.name}.opt.${o.name}` as keyof (typeof catalogue)['es'];
        assert.equal(o.description_localizations?.['en-US'], catalogue.en[optKey], `${cmd.name} ${o.name}`);
        assert.equal(o.description_localizations?.['es-ES'], catalogue.es[optKey], `${cmd.name} ${o.name}`);
      }
    }
  }
  assert.ok(catalogue.en['cmd.train.description'] !== catalogue.es['cmd.train.description']);
});

test('.env.example describes what DISCORD_GUILD_ID really does', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  // the comment lines right above `# DISCORD_GUILD_ID=`
  const above = example.slice(0, example.indexOf('# DISCORD_GUILD_ID=')).trimEnd().split('\n').reverse();
  const comment = above.slice(0, above.findIndex((l) => !l.startsWith('# ') || /^# [A-Z_]+=/.test(l)));
  assert.ok(comment.length > 0, 'DISCORD_GUILD_ID has a comment');
  const text = comment.reverse().join(' ');
  // deploy-commands (bot/discord/deploy.ts) refuses without a guild unless --global; the bot never registers by itself
  assert.match(text, /npm run deploy-commands/);
  assert.match(text, /--global/);
  assert.match(text, /no registra comandos al arrancar/);
  assert.doesNotMatch(text, /si no, se registran globalmente/);
});

// ── the catalogue scan ──

/** Text that reads as words for a person: two words in a row, or Spanish letters and marks. */
const HUMAN = /\p{L}{2,}[,.:;!?]?\s+\p{L}{2,}|[¿¡áéíóúñÁÉÍÓÚÑ]|^\p{Lu}\p{Ll}{2,}$/u;

/**
 * String and template literals of `source` that carry human text outside the places where English for
 * developers is expected: log lines (`*.logger.*`, `log(...)`), internal errors (`new Error(...)`, whose message
 * errorDetail never shows), and the stored reason of a failed run (`store.endRun`).
 */
export function userFacingLiterals(source: string, file = 'x.ts'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const exempt = (node: ts.Node): boolean => {
    for (let p: ts.Node | undefined = node.parent; p; p = p.parent) {
      if (ts.isImportDeclaration(p) || ts.isExportDeclaration(p)) return true;
      if (ts.isNewExpression(p) && /Error$/.test(p.expression.getText(sf))) return true;
      if (ts.isCallExpression(p)) {
        const callee = p.expression.getText(sf);
        if (/(^|\.)logger\.(info|warn|error|debug)$/.test(callee) || /(^|\.)log$/.test(callee) || /(^|\.)endRun$/.test(callee)) return true;
      }
    }
    return false;
  };
  const visit = (node: ts.Node): void => {
    let text: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
    else if (ts.isTemplateExpression(node)) text = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('');
    if (text !== undefined && HUMAN.test(text) && !exempt(node)) found.push(`${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${JSON.stringify(text)}`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test('the scan finds a user-facing literal and lets log lines and internal errors through', () => {
  assert.deepEqual(userFacingLiterals("await ctx.reply({ text: 'Hola, clase' });"), ['x.ts:1: "Hola, clase"']);
  assert.equal(userFacingLiterals('ctx.post({ text: `Entrenamiento ${id} terminado` });').length, 1);
  assert.equal(userFacingLiterals("const label = 'Revelar';").length, 1, 'a capitalized word is a label');
  assert.equal(userFacingLiterals("const s = 'votación';").length, 1, 'Spanish letters are text');
  assert.deepEqual(userFacingLiterals([
    "s.logger.warn(`train #${id}: could not edit progress`);",
    "throw new Error(`run ${id} has no model folder`);",
    "await s.store.endRun(id, 'failed', 'could not post the progress message');",
    "import { x } from './some where.ts';",
    "const key = t('train.done', { lines: 3 });",
    "const id = `vote:${pollId}:A`;",
  ].join('\n')), []);
});

test('commands/ writes no user-facing text outside the catalogue (commands/messages.ts)', () => {
  const dir = new URL('../commands/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'messages.ts');
  assert.ok(files.length >= 10, `only ${files.length} files in commands/`);
  const found = files.flatMap((f) => userFacingLiterals(readFileSync(new URL(f, dir), 'utf8'), `commands/${f}`));
  assert.deepEqual(found, [], 'put these texts in commands/messages.ts (es and en) and use t()');
});
