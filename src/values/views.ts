/**
 * Copies of ArrayBuffer views (typed arrays, DataViews, Buffers) that hold the views' own
 * bytes and nothing else, for walk.ts (`copy: true` and the store's encoding).
 *
 * Structured clone copies a view's whole backing buffer: `Buffer.from("hi")` would carry
 * Node's 8 KB allocation pool (and whatever else the program keeps in it), a 4-byte view of
 * a 100 MB buffer 100 MB. Here:
 * - a view alone on its buffer gets a fresh buffer of its byteLength (byteOffset 0);
 * - views of one buffer stay views of one buffer, as structured clone keeps them: the new
 *   buffer holds each run of overlapping or adjacent views at its original layout (a write
 *   through one view of a run shows through the others), the runs one after another
 *   without the gaps between them, so a view's byteOffset and its buffer's byteLength can
 *   differ from the original's;
 * - an ArrayBuffer that is itself in the value is copied whole, and the value's views of it
 *   view that copy at their own offsets, exactly as structured clone.
 * So bytes outside every view in the value never reach a copy (the few bytes that keep a
 * run aligned for its element size are zeros).
 *
 * The walk copies each view as if it were alone on its buffer and says where it put it
 * (`placed`); at the end `settle` moves the views whose buffer turned out to be shared.
 */

type View = ArrayBufferView;

/** The views of one original buffer met in the value, and that buffer's copy if the value holds it too. */
interface Source {
  whole: ArrayBuffer | undefined;
  readonly views: View[];
  readonly copies: View[];
}

/** The typed arrays' common prototype (`%TypedArray%.prototype`). */
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;

/** Whether `v` (whose prototype is `proto`) is a view this copies: a Buffer, a DataView or a built-in typed array. */
export function isCopiedView(v: View, proto: object | null): boolean {
  return Buffer.isBuffer(v) || proto === DataView.prototype || (proto !== null && Object.getPrototypeOf(proto) === TYPED_ARRAY);
}

/** A view of the same kind and byteLength as `like`, on `buffer` at `byteOffset`. */
function viewOn(like: View, buffer: ArrayBuffer, byteOffset: number): View {
  if (Buffer.isBuffer(like)) return Buffer.from(buffer, byteOffset, like.byteLength);
  if (like instanceof DataView) return new DataView(buffer, byteOffset, like.byteLength);
  const View = (like as unknown as { constructor: new (b: ArrayBuffer, o: number, n: number) => View }).constructor;
  return new View(buffer, byteOffset, (like as unknown as { length: number }).length);
}

export class ViewCopies {
  readonly #sources = new Map<ArrayBufferLike, Source>();
  /** `[container, key]` of each view copy the walk put in a container. */
  readonly #places: unknown[] = [];
  /** Whether some copy has to move in `settle`. */
  #shared = false;

  #source(buffer: ArrayBufferLike): Source {
    let source = this.#sources.get(buffer);
    if (source === undefined) this.#sources.set(buffer, (source = { whole: undefined, views: [], copies: [] }));
    return source;
  }

  /** A copy of the view `v` (see isCopiedView) holding its own bytes. */
  view(v: View): View {
    const source = this.#source(v.buffer);
    if (source.whole !== undefined) return viewOn(v, source.whole, v.byteOffset);
    const copy = viewOn(v, v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer, 0);
    source.views.push(v);
    source.copies.push(copy);
    if (source.views.length === 2) this.#shared = true;
    return copy;
  }

  /** A copy of the whole of `buffer`, which the value holds itself. */
  buffer(buffer: ArrayBuffer): ArrayBuffer {
    const source = this.#source(buffer);
    source.whole = buffer.slice(0);
    if (source.views.length > 0) this.#shared = true;
    return source.whole;
  }

  /** The walk put a view's copy in `container` under `key` (a Map or a Set: anywhere in it). */
  placed(container: object, key: unknown): void {
    this.#places.push(container, key);
  }

  /**
   * Moves the copies of views that share a buffer onto one buffer, where the walk put them
   * and in `slots` (walk.ts: tensors' places, whose Map keys may be such copies); returns
   * what `root`, the walk's result, becomes.
   */
  settle(root: unknown, slots: unknown[] | undefined): unknown {
    if (!this.#shared) return root;
    const moved = new Map<unknown, View>();
    for (const [buffer, source] of this.#sources) {
      if (source.whole !== undefined) source.views.forEach((v, i) => moved.set(source.copies[i], viewOn(v, source.whole!, v.byteOffset)));
      else if (source.views.length > 1) relayout(buffer, source, moved);
    }
    const places = this.#places;
    const rebuilt = new Set<object>();
    for (let i = 0; i < places.length; i += 2) {
      const container = places[i] as object;
      if (rebuilt.has(container)) continue;
      if (container instanceof Map) {
        rebuilt.add(container);
        const entries = [...container];
        container.clear();
        for (const [k, v] of entries) container.set(moved.get(k) ?? k, moved.get(v) ?? v);
      } else if (container instanceof Set) {
        rebuilt.add(container);
        const items = [...container];
        container.clear();
        for (const item of items) container.add(moved.get(item) ?? item);
      } else {
        const key = places[i + 1] as PropertyKey;
        const next = moved.get((container as Record<PropertyKey, unknown>)[key]);
        if (next !== undefined) Object.defineProperty(container, key, { value: next });
      }
    }
    if (slots !== undefined) for (let i = 1; i < slots.length; i += 2) slots[i] = moved.get(slots[i]) ?? slots[i];
    return moved.get(root) ?? root;
  }
}

/**
 * One new buffer for the views of `buffer`: each run of overlapping or adjacent views keeps
 * its layout; runs follow one another, each at an offset that keeps its views aligned.
 */
function relayout(buffer: ArrayBufferLike, source: Source, moved: Map<unknown, View>): void {
  const order = source.views.map((_, i) => i).sort((a, b) => source.views[a]!.byteOffset - source.views[b]!.byteOffset);
  // runs: [start in the original, end in the original, start in the new buffer]
  const runs: number[] = [];
  const runOf: number[] = [];
  let size = 0;
  for (const i of order) {
    const { byteOffset: start, byteLength } = source.views[i]!;
    const last = runs.length - 3;
    if (last >= 0 && start <= runs[last + 1]!) runs[last + 1] = Math.max(runs[last + 1]!, start + byteLength);
    else {
      if (last >= 0) size = runs[last + 2]! + runs[last + 1]! - runs[last]!;
      // Same offset modulo 8 as in the original: every view of the run stays aligned for its element size.
      runs.push(start, start + byteLength, size + ((((start - size) % 8) + 8) % 8));
    }
    runOf[i] = runs.length - 3;
  }
  const last = runs.length - 3;
  const bytes = new Uint8Array(runs[last + 2]! + runs[last + 1]! - runs[last]!);
  for (let r = 0; r < runs.length; r += 3) bytes.set(new Uint8Array(buffer, runs[r]!, runs[r + 1]! - runs[r]!), runs[r + 2]!);
  source.views.forEach((v, i) => {
    const r = runOf[i]!;
    moved.set(source.copies[i], viewOn(v, bytes.buffer, runs[r + 2]! + v.byteOffset - runs[r]!));
  });
}
