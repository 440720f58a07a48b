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
