/** A small, strict RFC 4180 parser for tests (quoted fields, doubled quotes, CRLF; a leading BOM is dropped). */
export function parseCsv(text: string): string[][] {
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < s.length) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; if (i < s.length && !/[,\r]/.test(s[i])) throw new Error(`text after a closing quote at ${i}`); continue; }
      field += c; i++; continue;
    }
    if (c === '"') {
      if (field !== '') throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true; i++; continue;
    }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r') {
      if (s[i + 1] !== '\n') throw new Error(`bare CR at ${i}`);
      row.push(field); rows.push(row); row = []; field = ''; i += 2; continue;
    }
    if (c === '\n') throw new Error(`bare LF at ${i} (records end with CRLF)`);
    field += c; i++;
  }
  if (quoted) throw new Error('unclosed quote');
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}
