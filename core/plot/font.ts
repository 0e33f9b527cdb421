/**
 * A tiny monospace bitmap font for server-side PNG text: printable ASCII (32–126) plus the Spanish letters
 * áéíóúüñÁÉÍÓÚÜÑ and ¿¡, the book's «»—–‘’“”… and àèìòùïçÇ. Drawn for this project (not copied from another font).
 *
 * Cell: 5 columns x 11 rows. Rows 0–1 hold accents of capitals, rows 2–8 the 7-row body (cap height 7,
 * x-height 5, baseline on row 8), rows 9–10 descenders. Each glyph is 11 base-32 digits, one per row from
 * the top; a digit's 5 bits are the row's pixels, the highest bit the leftmost column.
 */

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 11;
/** Horizontal advance per character (glyph plus one blank column), before scaling. */
export const GLYPH_ADVANCE = 6;
/** Row index of the baseline inside the cell. */
export const GLYPH_BASELINE = 8;

const TABLE: Record<string, string> = {
  " ": '00000000000', "!": '00444440400', "\"": '00aa0000000', "#": '00aavavaa00', "$": '004fke5u400', "%": '00op248j300',
  "&": '00cik8lid00', "'": '00440000000', "(": '00248884200', ")": '00842224800', "*": '0004lel4000', "+": '00044v44000',
  ",": '00000000448', "-": '00000v00000', ".": '00000000400', "/": '0011248gg00', "0": '00ehjlphe00', "1": '004c4444e00',
  "2": '00eh1248v00', "3": '00eh161he00', "4": '0026aiv2200', "5": '00vgu11he00', "6": '0068guhhe00', "7": '00v12488800',
  "8": '00ehhehhe00', "9": '00ehhf12c00', ":": '00004004000', ";": '00004004480', "<": '00248g84200', "=": '0000v0v0000',
  ">": '00842124800', "?": '00eh1240400', "@": '00ehnlnge00', "A": '00ehhvhhh00', "B": '00uhhuhhu00', "C": '00ehggghe00',
  "D": '00uhhhhhu00', "E": '00vgguggv00', "F": '00vgguggg00', "G": '00ehgnhhf00', "H": '00hhhvhhh00', "I": '00e44444e00',
  "J": '0072222ic00', "K": '00hikokih00', "L": '00ggggggv00', "M": '00hrllhhh00', "N": '00hhpljhh00', "O": '00ehhhhhe00',
  "P": '00uhhuggg00', "Q": '00ehhhlid00', "R": '00uhhukih00', "S": '00fgge11u00', "T": '00v44444400', "U": '00hhhhhhe00',
  "V": '00hhhhha400', "W": '00hhhllla00', "X": '00hha4ahh00', "Y": '00hha444400', "Z": '00v1248gv00', "[": '00e88888e00',
  "\\": '00gg8421100', "]": '00e22222e00', "^": '004ah000000', "_": '000000000v0', "`": '00840000000', "a": '0000e1fhf00',
  "b": '00ggmphhu00', "c": '0000egghe00', "d": '0011djhhf00', "e": '0000ehvge00', "f": '00698s88800', "g": '0000fhhf1he',
  "h": '00ggmphhh00', "i": '0040c444e00', "j": '002062222ic', "k": '00ggikoki00', "l": '00c44444e00', "m": '0000qllhh00',
  "n": '0000mphhh00', "o": '0000ehhhe00', "p": '0000uhhhugg', "q": '0000fhhhf11', "r": '0000mpggg00', "s": '0000fge1u00',
  "t": '0088s889600', "u": '0000hhhjd00', "v": '0000hhha400', "w": '0000hhlla00', "x": '0000ha4ah00', "y": '0000hhhhf1e',
  "z": '0000v248v00', "{": '00344844300', "|": '00444444400', "}": '00o44244o00', "~": '00000di0000', "¡": '00004044444',
  "¿": '00004048ghe', "á": '0024e1fhf00', "é": '0024ehvge00', "í": '0024c444e00', "ó": '0024ehhhe00', "ú": '0024hhhjd00',
  "Á": '24ehhvhhh00', "É": '24vgguggv00', "Í": '24e44444e00', "Ó": '24ehhhhhe00', "Ú": '24hhhhhhe00', "ñ": '00dimphhh00',
  "Ñ": 'dihhpljhh00', "ü": '00a0hhhjd00', "Ü": 'a0hhhhhhe00',
  // Punctuation of the book's text and a few more Latin letters (quotes of dialogue, dashes, ellipsis).
  "«": '00009i90000', "»": '0000i9i0000', "—": '00000v00000', "–": '00000e00000', "‘": '00480000000', "’": '00448000000',
  "“": '00aa0000000', "”": '00aa0000000', "…": '00000000l00', "·": '00000400000', "à": '0084e1fhf00', "è": '0084ehvge00',
  "ì": '0084c444e00', "ò": '0084ehhhe00', "ù": '0084hhhjd00', "ï": '00a0c444e00', "ç": '0000egghe48', "Ç": '00ehggghe48', "−": '00000v00000', "α": '0000diiid00',
};

const decoded = new Map<string, Uint8Array>();

/** True when the font has a glyph for `ch` (one code point). */
export function hasGlyph(ch: string): boolean {
  return Object.prototype.hasOwnProperty.call(TABLE, ch);
}

/** The 11 row bitmasks of `ch` (bit 4 = leftmost column); characters the font lacks render as '?'. */
export function glyphRows(ch: string): Uint8Array {
  const key = hasGlyph(ch) ? ch : '?';
  let rows = decoded.get(key);
  if (!rows) {
    const code = TABLE[key];
    rows = new Uint8Array(GLYPH_HEIGHT);
    for (let r = 0; r < GLYPH_HEIGHT; r++) rows[r] = parseInt(code[r], 32);
    decoded.set(key, rows);
  }
  return rows;
}

/** Width in pixels of `text` drawn at integer `scale` (no trailing gap). */
export function textWidth(text: string, scale = 1): number {
  const n = Array.from(text.normalize('NFC')).length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

/**
 * Calls `plot(x, y)` for every lit pixel of `text` with its cell's top-left corner at (x, y), each font pixel
 * becoming a scale x scale block. Composed characters (e.g. "a" + combining acute) are normalised to NFC first.
 */
export function rasterizeText(text: string, x: number, y: number, scale: number, plot: (px: number, py: number) => void): void {
  let cx = x;
  for (const ch of text.normalize('NFC')) {
    const rows = glyphRows(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      const bits = rows[r];
      if (bits === 0) continue;
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (!(bits & (1 << (GLYPH_WIDTH - 1 - c)))) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) plot(cx + c * scale + dx, y + r * scale + dy);
      }
    }
    cx += GLYPH_ADVANCE * scale;
  }
}
