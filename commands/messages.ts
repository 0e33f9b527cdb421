/**
 * The one catalogue of user-facing bot texts. Spanish is the default; LOCALE=en switches to English.
 * Placeholders are `{name}`; `t()` checks at compile time that every placeholder of the Spanish text is given.
 */

export type { Locale } from '../config/index.ts';
import type { Locale } from '../config/index.ts';

const es = {
  // ── shared ──
  'common.teacherOnly': 'Solo el profesorado puede usar `/{command}`. Si eres docente, pide que te den el rol o permiso de profesorado.',
  'common.failed': 'No pude completar `/{command}`: {detail}',
  'common.internal': 'Algo salió mal en `/{command}`. Vuelve a intentarlo; si se repite, avisa al profesorado (el detalle está en el registro del bot).',
  'error.CANCELLED': 'el trabajo se canceló.',
  'error.OUT_OF_MEMORY': 'la máquina se quedó sin memoria. Prueba con menos líneas o pide que se reduzca TRAIN_BS.',
  'error.MODEL_NOT_FOUND': 'no encuentro el modelo. Pide al profesorado que revise la instalación (README, sección «Modelos»).',
  'error.BACKEND_UNAVAILABLE': 'el motor de cálculo no está disponible en esta máquina. Revisa QUIJOTE_BACKEND en .env.',
  'error.GPU_ERROR': 'la GPU rechazó una operación y los resultados no serían fiables, así que paré. Pide al profesorado que pruebe WEBGPU_MATMUL=tfjs o QUIJOTE_BACKEND=wasm en .env (el detalle está en el registro del bot).',
  'error.COMPUTE_CRASHED': 'el proceso de cálculo se detuvo a mitad del trabajo y ya se ha reiniciado; los demás trabajos siguen en la cola. Vuelve a intentarlo; si se repite, entrena con menos líneas o pide que se reduzca TRAIN_BS (el detalle está en el registro del bot).',
  'error.other': '{detail}',
  'queue.position': 'Posición en la cola: {position}.',
  'queue.running': 'En marcha ahora mismo.',
  'job.kind.train': 'entrenamiento',
  'job.kind.story': 'historias',
  'job.kind.score': 'puntuación',
  'job.line': '#{id} {kind} de {owner}{label}',
  'time.unknown': '—',
  // ── /train ──
  'cmd.train.description': 'Afina el modelo de la clase con las primeras líneas del Quijote (solo profesorado).',
  'cmd.train.opt.lines': 'Cuántas líneas del Quijote usar (empezando por el principio)',
  'cmd.train.opt.epochs': 'Pasadas completas por esas líneas',
  'cmd.train.opt.lr': 'Tasa de aprendizaje, por ejemplo 0.0005',
  'train.badLines': 'El número de líneas debe ser un entero entre 1 y {max} (el Quijote da para {max} líneas de entrenamiento). Ejemplo: `/train lines:500`.',
  'train.badEpochs': 'Las épocas deben ser un número entero entre 1 y {max}.',
  'train.badLr': 'La tasa de aprendizaje debe ser un número mayor que 0 y menor que {max}, por ejemplo 0.0005.',
  'train.busy': 'Esta clase ya tiene un entrenamiento en cola o en marcha (#{run}). Espera a que termine o usa `/cancel`.',
  'train.queued': 'Entrenamiento #{run} aceptado: {lines} líneas, {epochs} épocas, tasa {lr}. {position} Sigue el progreso en el canal.',
  'train.label': '{lines} líneas',
  'train.waiting': '⏳ Entrenamiento #{run} ({lines} líneas): esperando turno…',
  'train.progress': '🏋️ Entrenamiento #{run} ({lines} líneas)\n`{bar}` {percent}\nPaso {step}/{total} · época {epoch} · pérdida {loss} · {tps} tokens/s · quedan {eta}',
  'train.progressDone': '✅ Entrenamiento #{run} ({lines} líneas) terminado: {steps} pasos en {duration}.',
  'train.progressCancelled': '🛑 Entrenamiento #{run} cancelado.',
  'train.progressFailed': '❌ Entrenamiento #{run} falló: {detail}',
  'train.done': '¡Modelo de la clase afinado con {lines} líneas del Quijote!\nPérdida de evaluación: {lossBefore} → {lossAfter}\nPerplejidad: {pplBefore} → {pplAfter}\nAhora votad a ciegas qué historia suena más a Cervantes.',
  'train.saved': '¡Modelo de la clase afinado con {lines} líneas del Quijote! Ya podéis votar a ciegas qué historia suena más a Cervantes; la pérdida y la perplejidad llegan aquí en cuanto termine la evaluación.',
  'train.curveTitle': 'Entrenamiento #{run}: pérdida por paso',
  'train.curveAlt': 'Curva de pérdida del entrenamiento #{run}: de {first} a {last}',
  'train.pollFailed': 'No pude crear la votación automática: {detail} Prueba con `/story`.',
  'train.interrupted': '⚠️ El entrenamiento #{run} ({lines} líneas) se interrumpió al reiniciar el bot; vuelve a lanzar /train.',
  // ── /story and the blind poll ──
  'cmd.story.description': 'Escribe dos historias (modelo base y modelo de la clase) y abre una votación a ciegas.',
  'cmd.story.opt.prompt': 'Cómo empieza la historia',
  'story.notTrained': 'Esta clase aún no tiene modelo afinado: primero el profesorado debe lanzar `/train`, por ejemplo `/train lines:500`.',
  'story.badPrompt': 'Escribe un comienzo de historia de entre 1 y {max} caracteres.',
  'story.generating': '✍️ Escribiendo dos historias que empiezan por «{prompt}»… {position}',
  'story.posted': 'Votación #{poll} publicada. ¡A votar!',
  'poll.title': '🗳️ **Votación a ciegas #{poll}**: ¿qué historia suena más al Quijote?\nComienzo: «{prompt}»',
  'poll.story': '**Historia {choice}**\n{text}',
  'poll.votes': 'Votos: Historia A {a} · Historia B {b}',
  'poll.closed': '🔒 Votación cerrada.',
  'poll.button': 'Historia {choice}',
  'poll.reveal': 'Revelar',
  'vote.recorded': 'Tu voto: Historia {choice}. Puedes cambiarlo pulsando la otra.',
  'vote.changed': 'Voto cambiado: Historia {previous} → Historia {choice}.',
  'vote.same': 'Ya habías votado la Historia {choice}.',
  'vote.closed': 'Esta votación ya está cerrada; gracias por participar.',
  'vote.notFound': 'No encuentro esa votación en esta clase.',
  // ── /reveal ──
  'cmd.reveal.description': 'Revela qué historia era del modelo afinado y cierra la votación (solo profesorado).',
  'reveal.none': 'No hay ninguna votación abierta en esta clase. Crea una con `/story`.',
  'reveal.result': '🔍 **Votación #{poll} revelada**\nLa historia del modelo de la clase (afinado) era la **Historia {choice}**; la otra salió del modelo base.\nVotos: Historia A {a} · Historia B {b}.',
  'reveal.share': 'La historia afinada se llevó {share} de los votos.',
  'reveal.noVotes': 'Nadie votó en esta votación.',
  'reveal.traces': 'Rastros del Quijote en la historia afinada (en negrita, {coverage} del texto):\n{highlighted}',
  'reveal.ngrams': 'Secuencias copiadas de las líneas de entrenamiento: {list}',
  'reveal.noNgrams': 'No aparece ninguna secuencia de 3 o más palabras copiada de las líneas de entrenamiento.',
  // ── /status ──
  'cmd.status.description': 'Muestra la cola de la GPU y el modelo de esta clase.',
  'status.queue': '📋 Trabajos esperando: {queued}.',
  'status.running': 'En marcha: {jobs}.',
  'status.idle': 'Ahora mismo no hay nada en marcha.',
  'status.model': 'Modelo de la clase: afinado con {lines} líneas ({epochs} épocas) el {date}; perplejidad {pplBefore} → {pplAfter}.',
  'status.noModel': 'Esta clase aún no tiene modelo afinado (el profesorado puede lanzar `/train`).',
  'status.engine': 'Motor: {engine}',
  // ── /cancel ──
  'cmd.cancel.description': 'Cancela tu trabajo en cola o en marcha (el profesorado, los de la clase).',
  'cancel.none': 'No tienes trabajos en cola ni en marcha en esta clase.',
  'cancel.noneClass': 'No hay trabajos en cola ni en marcha en esta clase.',
  'cancel.done': 'Cancelado: {jobs}.',
  'cancel.runningNote': 'Lo que estaba en marcha se detendrá al terminar el paso actual.',
  // ── /score ──
  'cmd.score.description': '¿Qué tan quijotesco es un texto? Compara su perplejidad en el modelo base y en el de la clase.',
  'cmd.score.opt.text': 'El texto que quieres medir',
  'score.badText': 'Escribe un texto de entre 1 y {max} caracteres.',
  'score.working': '📏 Midiendo el texto… {position}',
  'score.result': '📏 **¿Qué tan quijotesco es?**\n«{text}»\nPerplejidad con el modelo base: {base}\nPerplejidad con el modelo de la clase: {tuned}\n{verdict}\n_(Menos perplejidad = el modelo se sorprende menos con el texto.)_',
  'score.baseOnly': '📏 **¿Qué tan quijotesco es?**\n«{text}»\nPerplejidad con el modelo base: {base}\nEsta clase aún no tiene modelo afinado: cuando el profesorado lance `/train` podrás comparar.',
  'score.veryQuixotic': '¡Muy quijotesco! El modelo de la clase lo encuentra {ratio} veces más predecible que el base.',
  'score.quixotic': 'Algo quijotesco: el modelo de la clase lo encuentra {ratio} veces más predecible que el base.',
  'score.notQuixotic': 'Poco quijotesco: el modelo de la clase no lo encuentra más predecible que el base ({ratio}×).',
  // ── /results ──
  'cmd.results.description': 'Resultados de las votaciones de esta clase.',
  'results.none': 'Todavía no hay votaciones en esta clase. Crea una con `/story`.',
  'results.header': '📊 **Resultados de la clase**',
  'results.closed': '#{poll} «{prompt}»: la afinada recibió {finetuned} de {total} votos ({share})',
  'results.open': '#{poll} «{prompt}»: abierta, {total} votos (se sabrá al revelar)',
  'results.summary': 'En total, la historia afinada se llevó {share} de los votos ({finetuned} de {total}) en {polls} votaciones reveladas.',
  'results.noClosed': 'Aún no se ha revelado ninguna votación: el profesorado puede usar `/reveal`.',
  // ── /help ──
  'cmd.help.description': 'Explica cómo funciona el bot y sus comandos.',
  'help.header': '📚 **quijote-bot**: afinamos un GPT-2 en español con las primeras líneas del Quijote y votamos a ciegas si se nota.',
  'help.line': '`/{name}`{teacher}: {description}',
  'help.teacherTag': ' _(profesorado)_',
  'help.footer': 'Cómo se juega: el profesorado lanza `/train lines:500`; al terminar aparece una votación con dos historias (una del modelo base y otra del afinado, en orden al azar); votad la que suene más a Cervantes y `/reveal` desvela cuál era cuál.',
  // ── bot start-up (console) ──
  'start.noPlatforms': 'No hay credenciales de ninguna plataforma, así que el bot no tiene dónde conectarse.\n  • Discord: define DISCORD_TOKEN y DISCORD_APP_ID (opcional: DISCORD_GUILD_ID para registrar los comandos al instante en un servidor, TEACHER_ROLE para el rol de profesorado).\n  • Slack: define SLACK_BOT_TOKEN y SLACK_APP_TOKEN (modo socket), o SLACK_BOT_TOKEN y SLACK_SIGNING_SECRET con SLACK_MODE=http (opcional: SLACK_TEACHERS, SLACK_TEACHER_GROUP).\nCopia .env.example a .env, rellena esas variables y mira el README (secciones «Discord» y «Slack»).',
  'start.badConfig': 'La configuración no es válida: {detail}',
  'start.engineMissing': 'Falta el motor de ML (core/pipeline/tfjs-engine.ts con createEngine): esta copia del proyecto está incompleta. Vuelve a clonar el repositorio o ejecuta `git status` para ver qué falta.',
  'start.platformFailed': 'No pude arrancar {platform}: {detail}',
  'start.allFailed': 'Ninguna plataforma arrancó; el bot se detiene.',
  'start.ready': 'quijote-bot en marcha en {platforms} (datos en {dataDir}, motor: {engine}).',
  'start.computeStarting': 'arrancando',
  'start.interrupted': 'El entrenamiento #{run} de {place} se interrumpió al reiniciar el bot (estaba {status}); se avisará en su canal.',
  'start.noticeFailed': 'No pude avisar en {place} del entrenamiento #{run} interrumpido: {detail}',
  'start.stopping': 'Deteniendo quijote-bot…',
  'run.status.queued': 'en cola',
  'run.status.running': 'en marcha',
  // ── reliability (issue 11): blind polls, hostile text, limits, faults ──
  'poll.voted': 'Votos emitidos: {total} (el reparto se verá al revelar).',
  'poll.fewSentences': '⚠️ La Historia {choice} solo tiene {sentences} de 5 oraciones: el modelo paró antes (el profesorado puede subir MAX_NEW_TOKENS a ~220 o bajar TEMPERATURE a 0,8).',
  'reveal.detected': 'El {share} detectó la historia afinada ({votes} de {total}).',
  'error.PROMPT_TOO_LONG': 'el comienzo es demasiado largo para el modelo (se cuenta en tokens, no en letras: un emoji o un símbolo raro ocupa varios). Acórtalo y vuelve a intentarlo.',
  'error.NO_SPACE': 'el disco del servidor está lleno, así que no pude guardar el modelo. El modelo anterior de la clase sigue activo; pide a quien administra el bot que libere espacio (README, «Fiabilidad»).',
  'story.promptInvisible': 'Tu comienzo solo tenía caracteres invisibles o de control. Escribe un comienzo de historia con letras de verdad.',
  'queue.userLimit': 'Ya tienes {waiting} peticiones esperando turno (el máximo por persona es {max}). Espera a que salga una y vuelve a pedir; así todos tienen sitio.',
  'queue.full': 'La cola está llena: hay {waiting} trabajos esperando. Vuelve a intentarlo dentro de unos {minutes} min.',
} as const;

export type MessageKey = keyof typeof es;

const en: { readonly [K in MessageKey]: string } = {
  'common.teacherOnly': 'Only teachers can use `/{command}`. If you teach this class, ask for the teacher role or permission.',
  'common.failed': 'I could not complete `/{command}`: {detail}',
  'common.internal': 'Something went wrong in `/{command}`. Try again; if it keeps happening, tell a teacher (details are in the bot log).',
  'error.CANCELLED': 'the job was cancelled.',
  'error.OUT_OF_MEMORY': 'the machine ran out of memory. Try fewer lines or ask for a smaller TRAIN_BS.',
  'error.MODEL_NOT_FOUND': 'the model is missing. Ask a teacher to check the installation (README, "Models").',
  'error.BACKEND_UNAVAILABLE': 'the compute backend is not available on this machine. Check QUIJOTE_BACKEND in .env.',
  'error.GPU_ERROR': 'the GPU rejected an operation and the results would not be trustworthy, so I stopped. Ask a teacher to try WEBGPU_MATMUL=tfjs or QUIJOTE_BACKEND=wasm in .env (details are in the bot log).',
  'error.COMPUTE_CRASHED': 'the compute process stopped in the middle of the job and has been restarted; the other jobs are still queued. Try again; if it happens again, train with fewer lines or ask for a smaller TRAIN_BS (details are in the bot log).',
  'error.other': '{detail}',
  'queue.position': 'Position in queue: {position}.',
  'queue.running': 'Running now.',
  'job.kind.train': 'training',
  'job.kind.story': 'stories',
  'job.kind.score': 'scoring',
  'job.line': '#{id} {kind} by {owner}{label}',
  'time.unknown': '—',
  'cmd.train.description': "Fine-tune the class model on the first lines of Don Quixote (teachers only).",
  'cmd.train.opt.lines': 'How many lines of Don Quixote to use (from the start)',
  'cmd.train.opt.epochs': 'Full passes over those lines',
  'cmd.train.opt.lr': 'Learning rate, e.g. 0.0005',
  'train.badLines': 'The number of lines must be a whole number between 1 and {max} (Don Quixote has {max} training lines). Example: `/train lines:500`.',
  'train.badEpochs': 'Epochs must be a whole number between 1 and {max}.',
  'train.badLr': 'The learning rate must be a number above 0 and below {max}, e.g. 0.0005.',
  'train.busy': 'This class already has a training queued or running (#{run}). Wait for it to finish or use `/cancel`.',
  'train.queued': 'Training #{run} accepted: {lines} lines, {epochs} epochs, learning rate {lr}. {position} Follow the progress in the channel.',
  'train.label': '{lines} lines',
  'train.waiting': '⏳ Training #{run} ({lines} lines): waiting for its turn…',
  'train.progress': '🏋️ Training #{run} ({lines} lines)\n`{bar}` {percent}\nStep {step}/{total} · epoch {epoch} · loss {loss} · {tps} tokens/s · {eta} left',
  'train.progressDone': '✅ Training #{run} ({lines} lines) finished: {steps} steps in {duration}.',
  'train.progressCancelled': '🛑 Training #{run} cancelled.',
  'train.progressFailed': '❌ Training #{run} failed: {detail}',
  'train.done': 'The class model is fine-tuned on {lines} lines of Don Quixote!\nEval loss: {lossBefore} → {lossAfter}\nPerplexity: {pplBefore} → {pplAfter}\nNow vote blind for the story that sounds more like Cervantes.',
  'train.saved': 'The class model is fine-tuned on {lines} lines of Don Quixote! You can vote blind for the story that sounds more like Cervantes now; the loss and perplexity will appear here as soon as the evaluation ends.',
  'train.curveTitle': 'Training #{run}: loss per step',
  'train.curveAlt': 'Loss curve of training #{run}: from {first} to {last}',
  'train.pollFailed': 'I could not create the automatic poll: {detail} Try `/story`.',
  'train.interrupted': '⚠️ Training #{run} ({lines} lines) was interrupted when the bot restarted; run /train again.',
  'cmd.story.description': 'Write two stories (base model and class model) and open a blind poll.',
  'cmd.story.opt.prompt': 'How the story begins',
  'story.notTrained': 'This class has no fine-tuned model yet: a teacher must run `/train` first, e.g. `/train lines:500`.',
  'story.badPrompt': 'Write a story opening of 1 to {max} characters.',
  'story.generating': '✍️ Writing two stories that begin with “{prompt}”… {position}',
  'story.posted': 'Poll #{poll} posted. Go vote!',
  'poll.title': '🗳️ **Blind poll #{poll}**: which story sounds more like Don Quixote?\nOpening: “{prompt}”',
  'poll.story': '**Story {choice}**\n{text}',
  'poll.votes': 'Votes: Story A {a} · Story B {b}',
  'poll.closed': '🔒 Poll closed.',
  'poll.button': 'Story {choice}',
  'poll.reveal': 'Reveal',
  'vote.recorded': 'Your vote: Story {choice}. Click the other one to change it.',
  'vote.changed': 'Vote changed: Story {previous} → Story {choice}.',
  'vote.same': 'You had already voted for Story {choice}.',
  'vote.closed': 'This poll is closed; thanks for taking part.',
  'vote.notFound': 'I cannot find that poll in this class.',
  'cmd.reveal.description': 'Reveal which story came from the fine-tuned model and close the poll (teachers only).',
  'reveal.none': 'There is no open poll in this class. Create one with `/story`.',
  'reveal.result': '🔍 **Poll #{poll} revealed**\nThe class (fine-tuned) model wrote **Story {choice}**; the other came from the base model.\nVotes: Story A {a} · Story B {b}.',
  'reveal.share': 'The fine-tuned story got {share} of the votes.',
  'reveal.noVotes': 'Nobody voted in this poll.',
  'reveal.traces': 'Traces of Don Quixote in the fine-tuned story (in bold, {coverage} of the text):\n{highlighted}',
  'reveal.ngrams': 'Sequences copied from the training lines: {list}',
  'reveal.noNgrams': 'No sequence of 3 or more words was copied from the training lines.',
  'cmd.status.description': 'Show the GPU queue and this class model.',
  'status.queue': '📋 Jobs waiting: {queued}.',
  'status.running': 'Running: {jobs}.',
  'status.idle': 'Nothing is running right now.',
  'status.model': 'Class model: fine-tuned on {lines} lines ({epochs} epochs) on {date}; perplexity {pplBefore} → {pplAfter}.',
  'status.noModel': 'This class has no fine-tuned model yet (a teacher can run `/train`).',
  'status.engine': 'Engine: {engine}',
  'cmd.cancel.description': "Cancel your queued or running job (teachers: the class's jobs).",
  'cancel.none': 'You have no queued or running jobs in this class.',
  'cancel.noneClass': 'There are no queued or running jobs in this class.',
  'cancel.done': 'Cancelled: {jobs}.',
  'cancel.runningNote': 'What was running stops after the current step.',
  'cmd.score.description': 'How quixotic is a text? Compare its perplexity under the base and the class model.',
  'cmd.score.opt.text': 'The text you want to measure',
  'score.badText': 'Write a text of 1 to {max} characters.',
  'score.working': '📏 Measuring the text… {position}',
  'score.result': '📏 **How quixotic is it?**\n“{text}”\nPerplexity under the base model: {base}\nPerplexity under the class model: {tuned}\n{verdict}\n_(Lower perplexity = the model is less surprised by the text.)_',
  'score.baseOnly': '📏 **How quixotic is it?**\n“{text}”\nPerplexity under the base model: {base}\nThis class has no fine-tuned model yet: once a teacher runs `/train` you can compare.',
  'score.veryQuixotic': 'Very quixotic! The class model finds it {ratio} times more predictable than the base model.',
  'score.quixotic': 'Somewhat quixotic: the class model finds it {ratio} times more predictable than the base model.',
  'score.notQuixotic': 'Not very quixotic: the class model does not find it more predictable than the base model ({ratio}×).',
  'cmd.results.description': "Results of this class's polls.",
  'results.none': 'No polls in this class yet. Create one with `/story`.',
  'results.header': '📊 **Class results**',
  'results.closed': '#{poll} “{prompt}”: the fine-tuned story got {finetuned} of {total} votes ({share})',
  'results.open': '#{poll} “{prompt}”: open, {total} votes (known after the reveal)',
  'results.summary': 'Overall the fine-tuned story got {share} of the votes ({finetuned} of {total}) in {polls} revealed polls.',
  'results.noClosed': 'No poll has been revealed yet: a teacher can use `/reveal`.',
  'cmd.help.description': 'Explain how the bot works and its commands.',
  'help.header': '📚 **quijote-bot**: we fine-tune a Spanish GPT-2 on the first lines of Don Quixote and vote blind on whether it shows.',
  'help.line': '`/{name}`{teacher}: {description}',
  'help.teacherTag': ' _(teachers)_',
  'help.footer': 'How it works: a teacher runs `/train lines:500`; when it finishes a poll shows two stories (one from the base model, one fine-tuned, in random order); vote for the one that sounds more like Cervantes and `/reveal` tells which was which.',
  'start.noPlatforms': 'No platform credentials are set, so the bot has nowhere to connect.\n  • Discord: set DISCORD_TOKEN and DISCORD_APP_ID (optional: DISCORD_GUILD_ID to register the commands instantly in one server, TEACHER_ROLE for the teacher role).\n  • Slack: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (socket mode), or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET with SLACK_MODE=http (optional: SLACK_TEACHERS, SLACK_TEACHER_GROUP).\nCopy .env.example to .env, fill in those variables and see the README ("Discord" and "Slack" sections).',
  'start.badConfig': 'The configuration is invalid: {detail}',
  'start.engineMissing': 'The ML engine is missing (core/pipeline/tfjs-engine.ts with createEngine): this copy of the project is incomplete. Clone the repository again or run `git status` to see what is missing.',
  'start.platformFailed': 'Could not start {platform}: {detail}',
  'start.allFailed': 'No platform started; the bot stops.',
  'start.ready': 'quijote-bot running on {platforms} (data in {dataDir}, engine: {engine}).',
  'start.computeStarting': 'starting',
  'start.interrupted': 'Training #{run} of {place} was interrupted by the restart (it was {status}); its channel will be told.',
  'start.noticeFailed': 'Could not tell {place} about interrupted training #{run}: {detail}',
  'start.stopping': 'Stopping quijote-bot…',
  'run.status.queued': 'queued',
  'run.status.running': 'running',
  // ── reliability (issue 11): blind polls, hostile text, limits, faults ──
  'poll.voted': 'Votes cast: {total} (the split is shown at the reveal).',
  'poll.fewSentences': '⚠️ Story {choice} has only {sentences} of 5 sentences: the model stopped early (a teacher can raise MAX_NEW_TOKENS to ~220 or lower TEMPERATURE to 0.8).',
  'reveal.detected': '{share} detected the fine-tuned story ({votes} of {total}).',
  'error.PROMPT_TOO_LONG': 'the opening is too long for the model (it is counted in tokens, not letters: an emoji or a rare symbol takes several). Shorten it and try again.',
  'error.NO_SPACE': "the server's disk is full, so I could not save the model. The class's previous model stays active; ask the bot's admin to free some space (README, \"Fiabilidad\").",
  'story.promptInvisible': 'Your opening had only invisible or control characters. Write a story opening with real letters.',
  'queue.userLimit': 'You already have {waiting} requests waiting (the limit per person is {max}). Wait until one is done and ask again, so everyone gets a turn.',
  'queue.full': 'The queue is full: {waiting} jobs are waiting. Try again in about {minutes} min.',
};

export const catalogue: Readonly<Record<Locale, { readonly [K in MessageKey]: string }>> = { es, en };

/** The `{name}` placeholders of a template literal type. */
type Placeholders<S extends string> = S extends `${string}{${infer V}}${infer Rest}` ? V | Placeholders<Rest> : never;

export type MessageVars<K extends MessageKey> = Record<Placeholders<(typeof es)[K]>, string | number>;
export type MessageArgs<K extends MessageKey> = [Placeholders<(typeof es)[K]>] extends [never] ? [] : [vars: MessageVars<K>];

/** A translator bound to one locale (what commands receive as `services.t`). */
export type Translate = <K extends MessageKey>(key: K, ...args: MessageArgs<K>) => string;

export function format(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export function t<K extends MessageKey>(locale: Locale, key: K, ...args: MessageArgs<K>): string {
  const table = catalogue[locale] ?? catalogue.es;
  const vars = (args[0] ?? {}) as Record<string, string | number>;
  return format(table[key], vars);
}

export function translator(locale: Locale): Translate {
  return (key, ...args) => t(locale, key, ...args);
}

/** Looks up a key built at run time (e.g. "cmd.<name>.description"); undefined when the catalogue lacks it. */
export function lookup(locale: Locale, key: string, vars?: Record<string, string | number>): string | undefined {
  const table = catalogue[locale] as Record<string, string>;
  return key in table ? format(table[key], vars) : undefined;
}

export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

// ── number and time formatting ──

const intlLocale = (locale: Locale) => (locale === 'es' ? 'es-ES' : 'en-US');

export function formatNumber(locale: Locale, value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '—';
  return new Intl.NumberFormat(intlLocale(locale), { minimumFractionDigits: 0, maximumFractionDigits: digits }).format(value);
}

export function formatPercent(locale: Locale, share: number, digits = 0): string {
  if (!Number.isFinite(share)) return '—';
  return new Intl.NumberFormat(intlLocale(locale), { style: 'percent', maximumFractionDigits: digits }).format(share);
}

/** "m:ss" or "h:mm:ss". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A UTC date and time, e.g. "2025-11-26 08:23 UTC" (the bot cannot know each class's time zone). */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}
