import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutStory, scanSentences, splitSentences } from '../core/story/sentences.ts';
import { isQuijoteError } from '../core/errors.ts';

const split = (t: string): string[] => splitSentences(t);

test('plain sentences end at . ? ! … and "..."', () => {
  assert.deepEqual(split('Era de noche. ¿Quién llamaba? ¡Nadie! Todo callaba… Luego amaneció...'), [
    'Era de noche.',
    '¿Quién llamaba?',
    '¡Nadie!',
    'Todo callaba…',
    'Luego amaneció...',
  ]);
  assert.deepEqual(split('¡¿Qué?! ¿¡Cómo!? Nada!!! Fin???'), ['¡¿Qué?!', '¿¡Cómo!?', 'Nada!!!', 'Fin???']);
});

test('closing quotes and brackets stay with their sentence', () => {
  assert.deepEqual(split('Dijo: «No lo sé.» Y se marchó. (Esto es aparte.) Luego gritó: "¡Basta!" Calló.'), [
    'Dijo: «No lo sé.»',
    'Y se marchó.',
    '(Esto es aparte.)',
    'Luego gritó: "¡Basta!"',
    'Calló.',
  ]);
  assert.deepEqual(split('Leyó: “Ven pronto.” Y vino. Ella dijo \'adiós.\' Se fue.'), ['Leyó: “Ven pronto.”', 'Y vino.', "Ella dijo 'adiós.'", 'Se fue.']);
  assert.deepEqual(split('«¡Hola!». Adiós.'), ['«¡Hola!».', 'Adiós.']);
});

test('¿…? and ¡…! followed by a comma or a lowercase word continue the sentence', () => {
  assert.deepEqual(split('¿Qué dices?, preguntó él. Nada.'), ['¿Qué dices?, preguntó él.', 'Nada.']);
  assert.deepEqual(split('¿Qué dices? preguntó él. ¡Ay! exclamó Sancho. ¡Ay! Dios mío.'), [
    '¿Qué dices? preguntó él.',
    '¡Ay! exclamó Sancho.',
    '¡Ay!',
    'Dios mío.',
  ]);
  assert.deepEqual(split('«¿Quién va?», gritó el guarda. ¿Quién eres?; ¿de dónde vienes? ¿Qué quieres?'), [
    '«¿Quién va?», gritó el guarda.',
    '¿Quién eres?; ¿de dónde vienes?',
    '¿Qué quieres?',
  ]);
  assert.deepEqual(split('Llegó (¡qué horror!) tarde. Se fue… y volvió. Se fue… Volvió.'), ['Llegó (¡qué horror!) tarde.', 'Se fue… y volvió.', 'Se fue…', 'Volvió.']);
});

test('¿ and ¡ start sentences and never end them', () => {
  assert.deepEqual(split('Hola.¿Qué tal? Bien. ¡Qué bien!'), ['Hola.', '¿Qué tal?', 'Bien.', '¡Qué bien!']);
  assert.deepEqual(split('Le preguntó ¿adónde vas? y no contestó.'), ['Le preguntó ¿adónde vas? y no contestó.']);
});

test('dialogue incisos: "—dijo don Quijote—." and a question before an inciso', () => {
  assert.deepEqual(split('—Vamos, Sancho —dijo don Quijote—. Ya es tarde.'), ['—Vamos, Sancho —dijo don Quijote—.', 'Ya es tarde.']);
  assert.deepEqual(split('—¿Adónde vas? —preguntó el cura—. ¿No ves que llueve?'), ['—¿Adónde vas? —preguntó el cura—.', '¿No ves que llueve?']);
  assert.deepEqual(split('—¡Válame Dios! —dijo Sancho—, ¿no le dije yo que mirase bien? Y calló.'), [
    '—¡Válame Dios! —dijo Sancho—, ¿no le dije yo que mirase bien?',
    'Y calló.',
  ]);
  assert.deepEqual(split('—Decid —le repliqué yo—: ¿de qué modo pensáis llenar el vacío? —Fácil.'), [
    '—Decid —le repliqué yo—: ¿de qué modo pensáis llenar el vacío?',
    '—Fácil.',
  ]);
});

test('a dialogue dash at line start begins a new utterance; a lowercase inciso on a new line does not', () => {
  const text = '—Hola, Sancho —dijo don Quijote\n—Buenos días, señor.\n– ¿Adónde vamos?\n—preguntó Sancho.\n- Al Toboso';
  assert.deepEqual(split(text), ['—Hola, Sancho —dijo don Quijote', '—Buenos días, señor.', '– ¿Adónde vamos?\n—preguntó Sancho.', '- Al Toboso']);
  assert.deepEqual(
    scanSentences(text).map((s) => s.kind),
    ['break', 'terminal', 'terminal', 'fragment'],
  );
});

test('hard-wrapped lines do not split a sentence; a blank line does', () => {
  const text = 'Capítulo primero\n\nEn un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho\ntiempo que vivía un hidalgo. ¿Quién\nlo diría? nadie\nlo sabe. Y nada';
  assert.deepEqual(split(text), [
    'Capítulo primero',
    'En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho\ntiempo que vivía un hidalgo.',
    '¿Quién\nlo diría? nadie\nlo sabe.',
    'Y nada',
  ]);
  assert.deepEqual(split('¿Vienes?\n\nnadie contestó.'), ['¿Vienes?', 'nadie contestó.']);
});

test('no cut after abbreviations, initials, numbers and dotted words', () => {
  assert.deepEqual(split('El Sr. Pérez y la Sra. García saludaron a D. Quijote y a Dña. Dulcinea. Fin.'), [
    'El Sr. Pérez y la Sra. García saludaron a D. Quijote y a Dña. Dulcinea.',
    'Fin.',
  ]);
  assert.deepEqual(split('¿Ud. lo sabía? Vd. no. Uds. tampoco. El Dr. Recio y el Excmo. Sr. duque lo vieron.'), [
    '¿Ud. lo sabía?',
    'Vd. no.',
    'Uds. tampoco.',
    'El Dr. Recio y el Excmo. Sr. duque lo vieron.',
  ]);
  assert.deepEqual(split('Véase el cap. IV, núm. 3, pág. 12, p. ej. aquí. Costaba 3.5 reales o 1.000 maravedís. Era el 1.º de mayo.'), [
    'Véase el cap. IV, núm. 3, pág. 12, p. ej. aquí.',
    'Costaba 3.5 reales o 1.000 maravedís.',
    'Era el 1.º de mayo.',
  ]);
  assert.deepEqual(split('Lo firmó M. de Cervantes en Madrid. Era el año 1605. Llegó a la S.A. de Toledo. Visitó www.cervantes.es hoy.'), [
    'Lo firmó M. de Cervantes en Madrid.',
    'Era el año 1605.',
    'Llegó a la S.A. de Toledo.',
    'Visitó www.cervantes.es hoy.',
  ]);
  assert.deepEqual(split('SR. GÓMEZ, venga. Capítulo IV. Que trata de algo.'), ['SR. GÓMEZ, venga.', 'Capítulo IV.', 'Que trata de algo.']);
});

test('"etc." continues before a lowercase word or a comma and ends before a capital', () => {
  assert.deepEqual(split('Llevaba pan, queso, etc. y se fue. Llevaba vino, etc., y volvió. Compró pan, etc. Luego volvió. Y más, etc.'), [
    'Llevaba pan, queso, etc. y se fue.',
    'Llevaba vino, etc., y volvió.',
    'Compró pan, etc.',
    'Luego volvió.',
    'Y más, etc.',
  ]);
});

test('spacing, stray punctuation and empty input', () => {
  assert.deepEqual(split(''), []);
  assert.deepEqual(split('   \n\n  '), []);
  assert.deepEqual(split('  \n Hola.   Adiós.  \n'), ['Hola.', 'Adiós.']);
  assert.deepEqual(split('... y entonces se fue. . . Nada más.'), ['... y entonces se fue. . .', 'Nada más.']);
  assert.deepEqual(split('sin punto final'), ['sin punto final']);
  const spans = scanSentences('  Uno. Dos');
  assert.deepEqual(spans, [
    { start: 2, end: 6, kind: 'terminal' },
    { start: 7, end: 10, kind: 'fragment' },
  ]);
});

const STORY =
  '—¿Qué hacéis aquí, hermanas? —preguntó don Quijote—. El colegio estaba en silencio. ' +
  'La madre superiora, que se llamaba Dña. Aldonza, respondió: «Rezamos, señor caballero.» ' +
  '¡Válame Dios!, exclamó Sancho, y se santiguó tres veces. Las monjas leían libros de caballerías a escondidas… ' +
  'Y así pasaron 3.5 años. Nadie supo nunca la verdad.';

test('cutStory keeps exactly five sentences with their punctuation and closing quotes', () => {
  const r = cutStory(STORY);
  assert.equal(r.complete, true);
  assert.equal(r.sentences, 5);
  assert.equal(
    r.text,
    '—¿Qué hacéis aquí, hermanas? —preguntó don Quijote—. El colegio estaba en silencio. ' +
      'La madre superiora, que se llamaba Dña. Aldonza, respondió: «Rezamos, señor caballero.» ' +
      '¡Válame Dios!, exclamó Sancho, y se santiguó tres veces. Las monjas leían libros de caballerías a escondidas…',
  );
  assert.ok(STORY.startsWith(r.text));
  assert.equal(cutStory('Uno. Dos. Tres. ¿Cuatro?» ¡Cinco!» Seis.').text, 'Uno. Dos. Tres. ¿Cuatro?» ¡Cinco!»');
  assert.equal(cutStory(STORY, 2).text, '—¿Qué hacéis aquí, hermanas? —preguntó don Quijote—. El colegio estaba en silencio.');
});

test('cutStory with fewer than five sentences returns the trimmed text, complete=false, never padded', () => {
  assert.deepEqual(cutStory('  Uno. Dos. Tres y cuatro sin\nterminar  '), { text: 'Uno. Dos. Tres y cuatro sin\nterminar', sentences: 2, complete: false });
  assert.deepEqual(cutStory(''), { text: '', sentences: 0, complete: false });
  assert.deepEqual(cutStory('Uno. Dos. Tres. Cuatro. Cinco.'), { text: 'Uno. Dos. Tres. Cuatro. Cinco.', sentences: 5, complete: true });
  assert.deepEqual(cutStory('Uno. Dos. Tres. Cuatro. Cinco sin punto'), { text: 'Uno. Dos. Tres. Cuatro. Cinco sin punto', sentences: 4, complete: false });
});

test('cutStory counts dialogue utterances closed by a new dialogue line', () => {
  const dialogue = '—Buenos días, señor\n—Buenos días, Sancho\n—¿Vamos al Toboso?\n—Vamos —dijo él—. Y partieron.\n—¿Y después? Nada.';
  const r = cutStory(dialogue);
  assert.equal(r.text, '—Buenos días, señor\n—Buenos días, Sancho\n—¿Vamos al Toboso?\n—Vamos —dijo él—. Y partieron.');
  assert.equal(r.sentences, 5);
});

test('cutStory rejects a bad maxSentences', () => {
  for (const n of [0, -1, 2.5]) assert.throws(() => cutStory('Hola.', n), (e: unknown) => isQuijoteError(e, 'BAD_ARGUMENT'));
});
