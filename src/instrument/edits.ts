/**
 * Line-preserving edits of a module's source: insertions at offsets and replacements of
 * ranges, applied in one pass. A replacement is padded with as many line breaks as the
 * text it replaces, and nothing else adds any, so every line keeps its number (stack
 * traces of an instrumented module point where they did).
 */

interface Insertion {
  readonly at: number;
  readonly text: string;
  /** Among insertions at one offset, lower first: an outer wrap opens before an inner one. */
  readonly order: number;
  readonly seq: number;
}

interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export class Edits {
  private readonly insertions: Insertion[] = [];
  private readonly replacements: Replacement[] = [];
  /** After apply(): where each copied stretch of the source starts, in the source and in the result. */
  private readonly copied: [from: number, to: number][] = [];

  constructor(private readonly source: string) {}

  insert(at: number, text: string, order: number): void {
    this.insertions.push({ at, text, order, seq: this.insertions.length });
  }

  /** Replaces source[start, end); the ranges replaced hold no insertion. */
  replace(start: number, end: number, text: string): void {
    const breaks = this.source.slice(start, end).split('\n').length - 1;
    this.replacements.push({ start, end, text: text + '\n'.repeat(breaks) });
  }

  /** Whether some edit falls inside [start, end). */
  touches(start: number, end: number): boolean {
    return this.insertions.some((i) => i.at > start && i.at < end) || this.replacements.some((r) => r.start < end && r.end > start);
  }

  apply(): string {
    const { source, insertions, replacements } = this;
    replacements.sort((a, b) => a.start - b.start);
    insertions.sort((a, b) => a.at - b.at || a.order - b.order || a.seq - b.seq);
    let out = '';
    let pos = 0;
    let r = 0;
    const copy = (end: number): void => {
      this.copied.push([pos, out.length]);
      out += source.slice(pos, end);
    };
    const replaceUpTo = (limit: number): void => {
      for (; r < replacements.length && replacements[r]!.start < limit; r++) {
        const rep = replacements[r]!;
        copy(rep.start);
        out += rep.text;
        pos = rep.end;
      }
    };
    for (const ins of insertions) {
      replaceUpTo(ins.at);
      if (ins.at < pos) continue; // inside a replaced range: never produced, replacements cover no uses
      copy(ins.at);
      out += ins.text;
      pos = ins.at;
    }
    replaceUpTo(Infinity);
    copy(source.length);
    return out;
  }

  /** After apply(): where the source's character at `offset` is in the result (a source map's columns move with it). */
  moved(offset: number): number {
    const { copied } = this;
    let lo = 0;
    for (let hi = copied.length - 1; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      if (copied[mid]![0] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const [from, to] = copied[lo] ?? [0, 0];
    return to + offset - from;
  }
}
