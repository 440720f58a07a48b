import { describe, expect, it } from 'vitest';
import { batchBody } from '../../shared/storage/batch-body.js';
import { failedSubResponse } from '../../shared/storage/batch.js';

const URL_OF_TABLE = 'http://127.0.0.1:10002/acct/useraccess';

describe('batchBody', () => {
  it('writes one changeset: inserts as POST to the table, merges as PATCH to the row (quotes doubled)', () => {
    const rows = [{ partitionKey: "e'1~a", rowKey: 'r1', name: 'A', active: true }];
    const insert = batchBody(URL_OF_TABLE, 'insert', rows, 'B', 'C').toString('utf8');
    expect(insert).toBe(
      '--batch_B\r\ncontent-type: multipart/mixed; boundary=changeset_C\r\n\r\n' +
        '--changeset_C\r\ncontent-type: application/http\r\ncontent-transfer-encoding: binary\r\n\r\n' +
        `POST ${URL_OF_TABLE} HTTP/1.1\r\nContent-Type: application/json\r\n` +
        'Accept: application/json;odata=minimalmetadata\r\nDataServiceVersion: 3.0\r\n' +
        'Prefer: return-no-content\r\n\r\n' +
        '{"PartitionKey":"e\'1~a","RowKey":"r1","name":"A","active":true}\r\n' +
        '--changeset_C--\r\n--batch_B--\r\n',
    );
    const merge = batchBody(URL_OF_TABLE, 'merge', rows, 'B', 'C').toString('utf8');
    expect(merge).toContain(`PATCH ${URL_OF_TABLE}(PartitionKey='e''1~a',RowKey='r1') HTTP/1.1\r\n`);
    expect(merge).not.toContain('Prefer');
  });

  it('holds every row of a transaction whose rows outgrow the first, non-ASCII text as UTF-8', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({
      partitionKey: 'p',
      rowKey: `r${i}`,
      name: `Zoë ${'\u00e9\u4e2d'.repeat(i * 10)}`,
    }));
    const partOf = (row: (typeof rows)[number]): string => {
      const alone = batchBody(URL_OF_TABLE, 'merge', [row], 'B', 'C').toString('utf8');
      return alone.slice(alone.indexOf('--changeset_C\r\n'), alone.indexOf('--changeset_C--'));
    };
    const body = batchBody(URL_OF_TABLE, 'merge', rows, 'B', 'C');
    const text = body.toString('utf8');
    expect(text).toBe(
      '--batch_B\r\ncontent-type: multipart/mixed; boundary=changeset_C\r\n\r\n' +
        rows.map(partOf).join('') +
        '--changeset_C--\r\n--batch_B--\r\n',
    );
    expect(body.length).toBe(Buffer.byteLength(text));
    expect(text).toContain(`"name":"Zoë ${'\u00e9\u4e2d'.repeat(990)}"}`);
  });
});

describe('failedSubResponse', () => {
  it('finds nothing in an answer of 2xx sub-responses', () => {
    const ok =
      '--changesetresponse_x\r\nHTTP/1.1 204 No Content\r\n\r\n--changesetresponse_x\r\nHTTP/1.1 204 No Content\r\n';
    expect(failedSubResponse([Buffer.from(ok)])).toBeUndefined();
  });

  it('reads the status, code and message of the failed sub-request', () => {
    const failed =
      '--changesetresponse_x\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 409 Conflict\r\n' +
      'Content-Type: application/json\r\n\r\n' +
      '{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"0:The specified entity already exists."}}}\r\n' +
      '--changesetresponse_x--';
    expect(failedSubResponse([Buffer.from(failed)])).toEqual({
      status: 409,
      code: 'EntityAlreadyExists',
      message: '0:The specified entity already exists.',
    });
  });

  it('finds a failure whose status line two or more chunks split, wherever they split it', () => {
    const answer = Buffer.from(
      '--changesetresponse_x\r\nHTTP/1.1 204 No Content\r\n\r\n--changesetresponse_x\r\n' +
        'HTTP/1.1 409 Conflict\r\n\r\n{"odata.error":{"code":"EntityAlreadyExists","message":{"value":"exists"}}}\r\n',
    );
    const failedAt = answer.indexOf('HTTP/1.1 409');
    for (let cut = failedAt - 1; cut <= failedAt + 13; cut++) {
      const chunks = [answer.subarray(0, cut), answer.subarray(cut, cut + 1), answer.subarray(cut + 1)];
      expect(failedSubResponse(chunks)).toEqual({
        status: 409,
        code: 'EntityAlreadyExists',
        message: 'exists',
      });
      expect(failedSubResponse([answer.subarray(0, cut), answer.subarray(cut)])?.status).toBe(409);
    }
    const ok = Buffer.from('--changesetresponse_x\r\nHTTP/1.1 204 No Content\r\n--changesetresponse_x--');
    const at = ok.indexOf('HTTP/1.1');
    for (let cut = at; cut <= at + 12; cut++) {
      expect(failedSubResponse([ok.subarray(0, cut), ok.subarray(cut)])).toBeUndefined();
    }
  });

  it('skips text that only looks like a status line', () => {
    const answer = 'HTTP/1.1 20x\r\n--changesetresponse_x\r\nHTTP/1.1 201 Created\r\n';
    expect(failedSubResponse([Buffer.from(answer)])).toBeUndefined();
  });

  it('keeps the status when the failure has no JSON body', () => {
    expect(failedSubResponse([Buffer.from('HTTP/1.1 413 Request Entity Too Large\r\n\r\n')])).toEqual({
      status: 413,
      message: 'Transaction failed',
    });
  });
});
