/**
 * What one Table Storage entity can hold, checked before anything is written so that a caller's
 * oversized input is a 400 naming the field, never a 503 from the storage service. A string
 * property holds 64 KiB as UTF-16: 32 Ki code units, which is a JavaScript string's `length`.
 */
export const MAX_STRING_PROPERTY_UNITS = 32 * 1024;
/** An entity holds 1 MiB in all; stored values are kept well below it to leave room for the rest. */
export const MAX_ENTITY_BYTES = 1024 * 1024;

/** Whether `value`, stored as one string property, fits. */
export function fitsStringProperty(value: string): boolean {
  return value.length <= MAX_STRING_PROPERTY_UNITS;
}

/** Whether a list, stored as one JSON string property, fits. */
export function fitsAsJsonProperty(list: readonly unknown[]): boolean {
  return fitsStringProperty(JSON.stringify(list));
}

/**
 * A long string split over numbered properties (`name`, `name1`, `name2`, …), for values such as
 * an audit entry's changes that may exceed one property. Undefined when even `maxParts` are too few.
 */
export function toSplitProperty(
  name: string,
  value: string,
  maxParts: number,
): Record<string, string> | undefined {
  const parts = Math.max(1, Math.ceil(value.length / MAX_STRING_PROPERTY_UNITS));
  if (parts > maxParts) return undefined;
  const properties: Record<string, string> = {};
  for (let i = 0; i < parts; i++) {
    properties[i === 0 ? name : `${name}${i}`] = value.slice(
      i * MAX_STRING_PROPERTY_UNITS,
      (i + 1) * MAX_STRING_PROPERTY_UNITS,
    );
  }
  return properties;
}

/** The value `toSplitProperty` stored. */
export function fromSplitProperty(entity: Readonly<Record<string, unknown>>, name: string): string {
  let value = typeof entity[name] === 'string' ? entity[name] : '';
  for (let i = 1; typeof entity[`${name}${i}`] === 'string'; i++) value += entity[`${name}${i}`] as string;
  return value;
}
