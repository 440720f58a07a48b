/**
 * A read-only map over data kept in columns (typed arrays, arrays of strings, small numbers) rather
 * than as one object per entry: at 100,000 entries that is a fraction of a map of objects. A value is
 * made when asked for (equal, not identical, to the one stored); subclasses say where keys are and
 * how a value is made.
 */
export abstract class ColumnMap<V> implements ReadonlyMap<string, V> {
  abstract get size(): number;
  /** The position of `key`, or undefined. */
  protected abstract positionOf(key: string): number | undefined;
  protected abstract keyAt(position: number): string;
  /** The value at `position`; `key` is its key when the caller has it (no need to make it again). */
  protected abstract valueAt(position: number, key?: string): V;

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }

  has(key: string): boolean {
    return this.positionOf(key) !== undefined;
  }

  get(key: string): V | undefined {
    const position = this.positionOf(key);
    return position === undefined ? undefined : this.valueAt(position, key);
  }

  *values(): MapIterator<V> {
    for (let position = 0; position < this.size; position++) yield this.valueAt(position);
  }

  *keys(): MapIterator<string> {
    for (let position = 0; position < this.size; position++) yield this.keyAt(position);
  }

  *entries(): MapIterator<[string, V]> {
    for (let position = 0; position < this.size; position++) {
      yield [this.keyAt(position), this.valueAt(position)];
    }
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(visit: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (let position = 0; position < this.size; position++) {
      visit(this.valueAt(position), this.keyAt(position), this);
    }
  }
}
