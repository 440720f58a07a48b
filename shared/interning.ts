/**
 * One shared instance per distinct key: values that repeat across many thousands of rows (a
 * directory id, a parsed menu list, a group list) are kept once. The cache forgets everything when
 * it grows past `maxEntries`, which bounds its memory when the keys do not repeat after all.
 */
export class InterningCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The shared value for `key`, made by `make` the first time (values should be immutable). */
  get(key: string, make: (key: string) => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make(key);
      if (this.entries.size > this.maxEntries) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}

/**
 * Numbers for the few distinct values a column repeats (a group list, a directory id), so that
 * the column keeps one small number per row. Values are told apart by identity: pass shared ones.
 */
export class ValueNumbers<V> {
  private readonly values: V[] = [];
  private readonly numbers = new Map<V, number>();

  numberOf(value: V): number {
    let number = this.numbers.get(value);
    if (number === undefined) {
      number = this.values.push(value) - 1;
      this.numbers.set(value, number);
    }
    return number;
  }

  /** The number of `value` if it has one already (no number is given). */
  numberIfKnown(value: V): number | undefined {
    return this.numbers.get(value);
  }

  valueOf(number: number): V {
    const value = this.values[number];
    if (value === undefined) throw new RangeError(`No value numbered ${number}`);
    return value;
  }
}

const BYTES_PER_ID = 16;
/** Where each byte's two hex digits start in the 36-character form. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const DASH_AT = [8, 13, 18, 23];
const DASH = 0x2d;
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
/** The characters of the id being made (the dashes stay in place). */
const GUID_TEXT = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/** The value of a lower-case hex digit's char code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Writes the 16 bytes of a lower-case GUID (8-4-4-4-12 hex digits) into `out` at `offset`; false
 * when `id` is not one (bytes may have been written then: the caller ignores them). Char codes, not
 * a pattern and `parseInt` of slices: this runs twice per member of a sync.
 */
function guidBytes(id: string, out: Uint8Array, offset: number): boolean {
  if (id.length !== 36) return false;
  for (const at of DASH_AT) if (id.charCodeAt(at) !== DASH) return false;
  for (let i = 0; i < BYTES_PER_ID; i++) {
    const at = DIGIT_AT[i]!;
    const high = hexValue(id.charCodeAt(at));
    const low = hexValue(id.charCodeAt(at + 1));
    if (high < 0 || low < 0) return false;
    out[offset + i] = high * 16 + low;
  }
  return true;
}

/**
 * The lower-case GUID form of 16 bytes at `offset`, decoded in one piece: a flat string, no
 * concatenation keeping its parts (a sync holds 100,000 such ids).
 */
export function guidText(bytes: Uint8Array, offset = 0): string {
  const text = GUID_TEXT;
  for (let i = 0; i < BYTES_PER_ID; i++) {
    const byte = bytes[offset + i]!;
    const at = DIGIT_AT[i]!;
    text[at] = HEX_CODES[byte >> 4]!;
    text[at + 1] = HEX_CODES[byte & 15]!;
  }
  return text.toString('latin1');
}

function hashBytes(bytes: Uint8Array, offset: number): number {
  let h = 0x811c9dc5;
  for (let i = offset; i < offset + BYTES_PER_ID; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Ids in a column, in the order added: an id in lower-case GUID form (8-4-4-4-12 hex digits) is
 * 16 bytes of one shared buffer instead of a 36-character string; any other id stays a string.
 * `at` makes the string again (equal to the one added, not the same object).
 */
export class IdColumn {
  protected bytes = new Uint8Array(BYTES_PER_ID * 1024);
  /** The ids that are not GUIDs, by position: few or none. */
  protected readonly others = new Map<number, string>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `id`; returns its position. */
  push(id: string): number {
    const position = this.count++;
    if ((position + 1) * BYTES_PER_ID > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.write(position, id);
    return position;
  }

  /** Puts `id` in place of the one at `position`. */
  replace(position: number, id: string): void {
    if (position >= this.count) throw new RangeError(`No id at ${position}`);
    this.others.delete(position);
    this.write(position, id);
  }

  private write(position: number, id: string): void {
    if (!guidBytes(id, this.bytes, position * BYTES_PER_ID)) this.others.set(position, id);
  }

  at(position: number): string {
    const other = this.others.get(position);
    if (other !== undefined) return other;
    return guidText(this.bytes, position * BYTES_PER_ID);
  }
}

/**
 * An `IdColumn` of unique ids, found by value: an open-addressing table of positions (4 bytes a
 * slot, at most half full) instead of a Map that would keep every id as a string and an entry.
 */
export class IdIndex extends IdColumn {
  private slots = new Int32Array(2048).fill(-1);
  private readonly scratch = new Uint8Array(BYTES_PER_ID);

  /** The position of `id`, or undefined. */
  find(id: string): number | undefined {
    const position = this.slots[this.slotOf(id)]!;
    return position < 0 ? undefined : position;
  }

  /** The position of `id`, added first when missing. */
  intern(id: string): number {
    const slot = this.slotOf(id);
    const found = this.slots[slot]!;
    if (found >= 0) return found;
    const position = this.push(id);
    if (this.size * 2 > this.slots.length) this.rehash();
    else this.slots[slot] = position;
    return position;
  }

  private hashAt(position: number): number {
    const other = this.others.get(position);
    return other === undefined ? hashBytes(this.bytes, position * BYTES_PER_ID) : hashString(other);
  }

  private slotOf(id: string): number {
    const guid = guidBytes(id, this.scratch, 0);
    const mask = this.slots.length - 1;
    let slot = (guid ? hashBytes(this.scratch, 0) : hashString(id)) & mask;
    for (;;) {
      const position = this.slots[slot]!;
      if (position < 0 || this.holds(position, id, guid)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Whether `position` holds the id (whose bytes are in `scratch` when `guid`). */
  private holds(position: number, id: string, guid: boolean): boolean {
    const other = this.others.get(position);
    if (!guid || other !== undefined) return other === id;
    const offset = position * BYTES_PER_ID;
    for (let i = 0; i < BYTES_PER_ID; i++) if (this.bytes[offset + i] !== this.scratch[i]) return false;
    return true;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let position = 0; position < this.size; position++) {
      let slot = this.hashAt(position) & mask;
      while (this.slots[slot]! >= 0) slot = (slot + 1) & mask;
      this.slots[slot] = position;
    }
  }
}
