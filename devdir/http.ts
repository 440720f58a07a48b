import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY = 5 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(request));
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /**
   * A large body in pieces, sent one after the other: a string or Buffer over V8's large-object
   * threshold (~128 KiB) costs fresh memory and page faults every time it is made.
   */
  readonly chunks?: readonly Buffer[];
  /** Send the headers and half the body at once, the rest after this many ms (a slow-loris answer). */
  readonly stallMs?: number;
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

export function htmlReply(status: number, html: string, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      ...headers,
    },
    body: html,
  };
}

export function redirectReply(location: string): Reply {
  return { status: 302, headers: { location, 'cache-control': 'no-store' } };
}

export function send(response: ServerResponse, reply: Reply): void {
  if (reply.chunks !== undefined && reply.stallMs === undefined) {
    sendChunks(response, reply, reply.chunks);
    return;
  }
  const body = reply.chunks === undefined ? Buffer.from(reply.body ?? '') : Buffer.concat(reply.chunks);
  response.writeHead(reply.status, { ...reply.headers, 'content-length': String(body.length) });
  if (reply.stallMs === undefined) {
    response.end(body);
    return;
  }
  const half = Math.floor(body.length / 2);
  response.flushHeaders();
  response.write(body.subarray(0, half));
  // The caller may have given up by then; its connection is gone and nothing is left to send.
  setTimeout(() => {
    if (!response.destroyed) response.end(body.subarray(half));
  }, reply.stallMs).unref();
}

/**
 * Each piece is written once the previous one is flushed: pieces queued together would reach the
 * TLS socket as one write, which copies them into one large buffer again.
 */
function sendChunks(response: ServerResponse, reply: Reply, chunks: readonly Buffer[]): void {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  response.writeHead(reply.status, { ...reply.headers, 'content-length': String(length) });
  let next = 0;
  const writeNext = (error?: Error | null): void => {
    // A caller that went away gets nothing more; its request already counts as answered.
    if (error !== undefined && error !== null) return;
    if (response.destroyed) return;
    const chunk = chunks[next];
    next += 1;
    if (chunk === undefined) response.end();
    else response.write(chunk, writeNext);
  };
  writeNext();
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function requestId(): string {
  return randomUUID();
}

/** Entra's timestamps in error bodies: `2026-11-28 01:02:03Z`. */
export function entraTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
