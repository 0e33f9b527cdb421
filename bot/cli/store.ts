/** `quijote store copy sqlite:<DATA_DIR> postgres://… [file:///modelos]`: moves a teacher's data to the district. */
import { join } from 'node:path';
import { QuijoteError } from '../../core/errors.ts';
import { FileModelStore } from '../../core/modelstore/file-store.ts';
import { copySqliteToPostgres } from '../../core/store/copy.ts';
import type { CliContext } from './commands.ts';


export async function storeCommand(c: CliContext): Promise<number> {
  const [sub, from, to, models] = c.positionals;
  if (sub !== 'copy' || !from || !to || c.positionals.length > 4) {
    throw new QuijoteError('BAD_ARGUMENT', 'Uso: quijote store copy sqlite:CARPETA postgres://… [file:///almacen/modelos].', {
      hint: 'El origen es la carpeta DATA_DIR del bot (o su quijote.sqlite); el destino, la DATABASE_URL del distrito.',
    });
  }
  const modelStore = models ? new FileModelStore(models, join(c.config.dataDir, 'model-cache')) : null;
  const r = await copySqliteToPostgres({ from, to, clock: { now: () => Date.now() }, models: modelStore });
  if (c.flags.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(`copiado: ${r.classes} clases, ${r.runs} entrenamientos, ${r.stories} cuentos, ${r.polls} votaciones, ${r.votes} votos\n`);
    if (modelStore) process.stdout.write(`modelos publicados en ${modelStore.root}: ${r.modelsPublished}\n`);
    for (const m of r.modelsMissing) process.stdout.write(`aviso: no se encontró la carpeta del modelo ${m}; el entrenamiento se copió sin ella\n`);
  }
  return 0;
}
