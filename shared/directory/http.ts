import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { AppError } from '../errors.js';
import { directoryError, type DirectoryFailure, type DirectorySubject } from './errors.js';
import { isOnOrigin } from './hosts.js';

/** Outbound HTTP as the platform's fetch offers it; injected so tests and hosts choose it. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => delay(ms);

export interface DirectoryLimits {
  /** One request, from sending to the last byte of its answer. */
  readonly requestTimeoutMs: number;
  /** Retries of one request after 429/503/504 or a timeout. */
  readonly maxRetries: number;
  /** A directory failing for longer than this (since its last usable answer) is given up. */
  readonly giveUpAfterMs: number;
  /** First backoff without Retry-After; doubled each retry, up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Pages of one member listing; a directory paging beyond this is not trusted. */
  readonly maxPages: number;
  /** Size of one answer. */
  readonly maxAnswerBytes: number;
}

/** A sync run's: 30 s a request, at most 5 retries, given up after 5 minutes of failure. */
export const RUN_DIRECTORY_LIMITS: DirectoryLimits = Object.freeze({
  requestTimeoutMs: 30_000,
  maxRetries: 5,
  giveUpAfterMs: 5 * 60_000,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  // 999 users a page: ten million members.
  maxPages: 10_000,
  maxAnswerBytes: 32 * 1024 * 1024,
});

/** A sign-in's: someone waits in a browser, so fail fast and let them retry. */
export const SIGNIN_DIRECTORY_LIMITS: DirectoryLimits = Object.freeze({
  ...RUN_DIRECTORY_LIMITS,
  requestTimeoutMs: 10_000,
  maxRetries: 1,
  giveUpAfterMs: 15_000,
  maxAnswerBytes: 1024 * 1024,
});

export interface DirectoryHttpDeps {
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly sleep?: Sleep;
  readonly limits?: Partial<DirectoryLimits>;
}

export interface DirectoryRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A usable answer (any status but those retried). */
export interface DirectoryAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface DirectoryHttp {
  readonly limits: DirectoryLimits;
  readonly subject: DirectorySubject;
  /**
   * Sends one request to one of the tenant's own origins, with a timeout, retrying 429/503/504
   * and timeouts. Fails with a directory AppError when the request leaves the
   * tenant's hosts, the retries or the budget run out, or the answer is too large.
   */
  send(request: DirectoryRequest): Promise<DirectoryAnswer>;
  /** `text` parsed as JSON, or directory-malformed-answer. */
  json(answer: DirectoryAnswer): unknown;
  /** A directory AppError about this tenant. */
  fail(failure: DirectoryFailure, cause?: unknown): AppError;
}

const RETRIED_STATUSES = new Set([429, 503, 504]);

/** `Retry-After` as milliseconds: seconds (possibly fractional) or an HTTP date; undefined otherwise. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`); Date.parse also reads `-1` as a year.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

type Attempt =
  | { readonly kind: 'answer'; readonly answer: DirectoryAnswer }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'lost'; readonly cause: unknown }
  | { readonly kind: 'too-large' };

class AnswerTooLarge extends Error {}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new AnswerTooLarge();
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new AnswerTooLarge();
    }
    chunks.push(value);
  }
  // Buffer's decoder, not TextDecoder: the same text at a fraction of the CPU on pages of members.
  const text = Buffer.concat(chunks, size).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The one way the service talks to a tenant's directory. One instance serves one run (or one
 * sign-in step): the give-up budget is shared by its requests, so a directory that keeps failing
 * is abandoned after `giveUpAfterMs` however the failures are spread.
 * Long only as a factory: its body is the short functions below, closed over the deps.
 */
export function createDirectoryHttp(
  subject: DirectorySubject,
  origins: readonly string[],
  deps: DirectoryHttpDeps,
): DirectoryHttp {
  const limits: DirectoryLimits = { ...RUN_DIRECTORY_LIMITS, ...deps.limits };
  const sleep = deps.sleep ?? realSleep;
  const now = (): number => deps.clock.now().getTime();
  let failingSince: number | undefined;

  const fail = (failure: DirectoryFailure, cause?: unknown): AppError =>
    directoryError(failure, subject, cause === undefined ? {} : { cause });

  async function attempt(request: DirectoryRequest): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    // Covers the headers and the whole body: a directory that stalls mid-answer times out too.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limits.requestTimeoutMs);
    try {
      const response = await deps.fetch(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...request.headers },
        ...(request.body === undefined ? {} : { body: request.body }),
        // A redirect could lead anywhere; the tenant's own endpoints never redirect these calls.
        redirect: 'manual',
        signal: controller.signal,
      });
      const text = await readLimited(response, limits.maxAnswerBytes);
      return { kind: 'answer', answer: { status: response.status, headers: response.headers, text } };
    } catch (error) {
      if (error instanceof AnswerTooLarge) {
        controller.abort();
        return { kind: 'too-large' };
      }
      return timedOut ? { kind: 'timeout' } : { kind: 'lost', cause: error };
    } finally {
      clearTimeout(timer);
    }
  }

  function finalFailure(last: Attempt): DirectoryFailure {
    const seconds = Math.round(limits.requestTimeoutMs / 100) / 10;
    if (last.kind === 'timeout') return { code: 'directory-timeout', seconds };
    if (last.kind === 'answer') {
      const status = last.answer.status;
      if (status === 429) return { code: 'directory-throttled' };
      if (status === 504) return { code: 'directory-timeout', seconds, status };
      return { code: 'directory-unreachable', status };
    }
    return { code: 'directory-unreachable' };
  }

  return {
    limits,
    subject,
    fail,
    json(answer) {
      try {
        return JSON.parse(answer.text) as unknown;
      } catch (error) {
        throw fail({ code: 'directory-malformed-answer', problem: 'an answer that is not JSON' }, error);
      }
    },
    async send(request) {
      if (!origins.some((origin) => isOnOrigin(request.url, origin))) {
        throw fail({
          code: 'directory-malformed-answer',
          problem: 'a link to a host that is not one of the tenant’s own',
        });
      }
      for (let retry = 0; ; retry++) {
        const startedAt = now();
        const result = await attempt(request);
        if (result.kind === 'too-large') {
          throw fail({ code: 'directory-malformed-answer', problem: 'an answer larger than allowed' });
        }
        if (result.kind === 'answer' && !RETRIED_STATUSES.has(result.answer.status)) {
          failingSince = undefined;
          if (result.answer.status >= 300 && result.answer.status < 400) {
            throw fail({ code: 'directory-malformed-answer', problem: 'a redirect' });
          }
          return result.answer;
        }
        // A refused connection or an unknown host is a wrong URL far more often than a blip.
        if (result.kind === 'lost') throw fail(finalFailure(result), result.cause);
        const at = now();
        failingSince ??= startedAt;
        if (retry >= limits.maxRetries) throw fail(finalFailure(result));
        const retryAfter =
          result.kind === 'answer'
            ? parseRetryAfter(result.answer.headers.get('retry-after'), at)
            : undefined;
        const wait = retryAfter ?? Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** retry);
        if (at + wait - failingSince > limits.giveUpAfterMs) throw fail(finalFailure(result));
        await sleep(wait);
      }
    },
  };
}
