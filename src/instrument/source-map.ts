/**
 * An inline source map (tsx's, or swc's for transformed TypeScript) kept true through
 * the rewrite. The rewrite never moves a line, but its insertions move columns, and in a
 * loader's output one line may hold a whole module (tsx minifies whitespace), so a stack
 * frame's column decides its original line: each generated column of the map is moved
 * with the character it points at. Only the map's generated columns change.
 */

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));
/** The last inline source map comment, as Node finds it. */
const INLINE = /\/[*/]#\s+sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)/g;

/** The first VLQ of `text` from `at`: its value and where it ends. */
function readVlq(text: string, at: number): [value: number, end: number] {
  let result = 0;
  let shift = 0;
  for (let i = at; i < text.length; i++) {
    const digit = DIGIT.get(text[i]!);
    if (digit === undefined) break;
    result += (digit & 31) * 2 ** shift;
    shift += 5;
    if ((digit & 32) === 0) return [result % 2 === 1 ? -Math.floor(result / 2) : Math.floor(result / 2), i + 1];
  }
  throw new Error('malformed source map mappings');
}

function writeVlq(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    const digit = rest % 32;
    rest = Math.floor(rest / 32);
    out += BASE64[rest > 0 ? digit | 32 : digit];
  } while (rest > 0);
  return out;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** `mappings` with each generated column moved; lines are the same in both texts. */
export function moveColumns(mappings: string, source: string, code: string, moved: (offset: number) => number): string {
  const from = lineStarts(source);
  const to = lineStarts(code);
  return mappings
    .split(';')
    .map((line, n) => {
      if (line === '' || n >= from.length) return line;
      let column = 0;
      let previous = 0;
      return line
        .split(',')
        .map((segment) => {
          const [delta, end] = readVlq(segment, 0);
          column += delta;
          const next = moved(from[n]! + column) - to[n]!;
          const out = writeVlq(next - previous) + segment.slice(end);
          previous = next;
          return out;
        })
        .join(',');
    })
    .join(';');
}

/** `code` (the rewrite of `source`) with the inline source map `source` carried, if any, moved with it. */
export function carrySourceMap(source: string, code: string, moved: (offset: number) => number): string {
  const found = [...source.matchAll(INLINE)].at(-1);
  if (found === undefined) return code;
  let map: { mappings?: unknown };
  try {
    map = JSON.parse(Buffer.from(found[1]!, 'base64').toString('utf8')) as { mappings?: unknown };
    if (typeof map.mappings !== 'string') return code;
    map.mappings = moveColumns(map.mappings, source, code, moved);
  } catch {
    return code; // a map Node cannot read either: left as it is
  }
  const at = moved(found.index!);
  const comment = found[0].replace(found[1]!, Buffer.from(JSON.stringify(map)).toString('base64'));
  return code.slice(0, at) + comment + code.slice(at + found[0].length);
}
