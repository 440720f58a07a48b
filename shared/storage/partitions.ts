import { odata } from '@azure/data-tables';

/**
 * Bucketed partitions: the rows of one owner (an environment, a directory) spread over 16
 * partitions `<prefix>~0` … `<prefix>~f`, chosen by the first hex digit of the row's id. A
 * transaction still holds 100 rows of one partition, but a large write is no longer capped by one
 * partition's throughput, and a range query over the 16 keeps id order.
 */
const SEPARATOR = '~';

export const BUCKET_DIGITS: readonly string[] = '0123456789abcdef'.split('');

/** The partition of the row whose id is `hexId` (its first digit picks the bucket). */
export function bucketPartition(prefix: string, hexId: string): string {
  return `${prefix}${SEPARATOR}${hexId.charAt(0).toLowerCase()}`;
}

/** Every partition of `prefix`, one per bucket. */
export function bucketPartitions(prefix: string): string[] {
  return BUCKET_DIGITS.map((digit) => `${prefix}${SEPARATOR}${digit}`);
}

/** A filter for every partition of `prefix` at once: `<prefix>~` < key < `<prefix>~~`. */
export function allBucketsFilter(prefix: string): string {
  return odata`PartitionKey gt ${prefix + SEPARATOR} and PartitionKey lt ${prefix + SEPARATOR + SEPARATOR}`;
}
