/**
 * The multipart body of an entity group transaction (`$batch`): one changeset holding every row,
 * written as bytes while rows are added.
 */

/**
 * - `insert`: create each row; the transaction fails with 409 when one exists.
 * - `merge`: upsert-merge each row (create it, or merge these properties into it).
 */
export type BatchMode = 'insert' | 'merge';

/**
 * A row as a transaction writes it. Only strings and booleans: both are typed by their JSON alone
 * (Edm.String, Edm.Boolean), so no `@odata.type` annotations are needed.
 */
export type BatchEntity<T> = { readonly partitionKey: string; readonly rowKey: string } & {
  readonly [K in keyof T]: string | boolean | undefined;
};

const CRLF = '\r\n';
/** Bytes a body starts with room for before its first row says how large its rows are. */
const FIRST_CAPACITY = 4096;
/** Buffers kept for the next bodies: about one per transaction in flight, of rows, not pages. */
const MAX_SPARES = 8;
const MAX_SPARE_BYTES = 256 * 1024;

/**
 * The buffers of bodies whose transactions were answered: a sync sends hundreds of transactions of
 * about the same size, and each body lives as long as its request, long enough for the garbage
 * collector to move it to the heap it collects least often.
 */
const spares: Buffer[] = [];

function keyLiteral(value: string): string {
  return encodeURIComponent(`'${value.replaceAll("'", "''")}'`);
}

function rowJson<T>(entity: BatchEntity<T>): string {
  const { partitionKey, rowKey, ...properties } = entity;
  return JSON.stringify({ PartitionKey: partitionKey, RowKey: rowKey, ...properties });
}

/**
 * One transaction's body. The text every row's sub-request shares is made once per body, each row
 * adds only its keys and its JSON, and the body is never held as a string that the socket would
 * convert again.
 */
export class TransactionBody {
  private bytes: Buffer;
  private length = 0;
  /** Rows added so far. */
  rows = 0;
  /** A row's sub-request up to its keys (merge) or up to its JSON (insert). */
  private readonly head: string;
  /** After a merge's keys, up to its JSON. */
  private readonly afterKeys: string;

  constructor(
    tableUrl: string,
    private readonly mode: BatchMode,
    readonly batchId: string,
    private readonly changesetId: string,
    /** An answered body's buffer to write into, from `handOver`. */
    bytes?: Buffer,
  ) {
    this.bytes =
      bytes !== undefined && bytes.length > 0 ? bytes : (spares.pop() ?? Buffer.allocUnsafe(FIRST_CAPACITY));
    const part = `--changeset_${changesetId}${CRLF}content-type: application/http${CRLF}content-transfer-encoding: binary${CRLF}${CRLF}`;
    const headers = `${CRLF}Content-Type: application/json${CRLF}Accept: application/json;odata=minimalmetadata${CRLF}DataServiceVersion: 3.0`;
    if (mode === 'insert') {
      this.head = `${part}POST ${tableUrl} HTTP/1.1${headers}${CRLF}Prefer: return-no-content${CRLF}${CRLF}`;
      this.afterKeys = '';
    } else {
      this.head = `${part}PATCH ${tableUrl}(PartitionKey=`;
      this.afterKeys = `) HTTP/1.1${headers}${CRLF}${CRLF}`;
    }
    this.write(
      `--batch_${batchId}${CRLF}content-type: multipart/mixed; boundary=changeset_${changesetId}${CRLF}${CRLF}`,
    );
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** Appends one row; `expectedRows` (all of the body's) sizes the buffer once from the first. */
  add<T>(entity: BatchEntity<T>, expectedRows = 1): void {
    const before = this.length;
    this.write(this.head);
    if (this.mode === 'merge') {
      this.write(keyLiteral(entity.partitionKey));
      this.write(',RowKey=');
      this.write(keyLiteral(entity.rowKey));
      this.write(this.afterKeys);
    }
    this.write(rowJson(entity));
    this.write(CRLF);
    if (this.rows++ === 0 && expectedRows > 1) {
      this.reserve(Math.ceil((this.length - before) * (expectedRows - 1) * 1.25) + 256);
    }
  }

  /** The finished body; nothing may be added after. */
  end(): Buffer {
    this.write(`--changeset_${this.changesetId}--${CRLF}--batch_${this.batchId}--${CRLF}`);
    return this.bytes.subarray(0, this.length);
  }

  /**
   * Gives the buffer to the next bodies. Only once the service has answered the whole transaction,
   * so it has read every byte, and nothing keeps the finished body: the request is done with it.
   * A buffer too large to keep for every body stays here for `handOver`.
   */
  recycle(): void {
    this.length = 0;
    if (this.bytes.length > MAX_SPARE_BYTES || spares.length >= MAX_SPARES) return;
    spares.push(this.bytes);
    this.bytes = Buffer.alloc(0);
  }

  /** An answered (recycled) body's own buffer, for the next body of the same writer. */
  handOver(): Buffer {
    const bytes = this.bytes;
    this.bytes = Buffer.alloc(0);
    return bytes;
  }

  private write(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8: the exact count only when that may not fit.
    if (this.length + text.length * 3 > this.bytes.length) this.reserve(Buffer.byteLength(text));
    this.length += this.bytes.write(text, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    let capacity = Math.max(this.bytes.length * 2, FIRST_CAPACITY);
    while (capacity < this.length + more) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/** The multipart body of one transaction: one changeset holding every row. */
export function batchBody<T>(
  tableUrl: string,
  mode: BatchMode,
  entities: readonly BatchEntity<T>[],
  batchId: string,
  changesetId: string,
): Buffer {
  const body = new TransactionBody(tableUrl, mode, batchId, changesetId);
  for (const entity of entities) body.add(entity, entities.length);
  return body.end();
}
