/**
 * torch_reference.py's `book_lines` and `blocks`, copied as Python source (no torch needed) so tests can run
 * the reference's dataset contract with python3 and compare.
 */
export const PY_BOOK_LINES_DEF = `
import json, sys
def book_lines(path):
    text = open(path, encoding="utf-8-sig").read().replace("\\r\\n", "\\n")
    lines = text.split("\\n")
    s = next(i for i, l in enumerate(lines) if l.startswith("*** START OF"))
    e = next(i for i, l in enumerate(lines) if l.startswith("*** END OF"))
    body = lines[s + 1:e]
    start = next((i for i, l in enumerate(body) if l.strip().startswith("Capítulo primero")), 0)
    return [l.strip() for l in body[start:] if l.strip()]
def blocks(ids, T):
    n = (len(ids) // T) * T
    return [ids[i:i + T] for i in range(0, n, T)]
`;
