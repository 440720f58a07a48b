import { createDefaultHttpClient, type HttpClient, type PipelineResponse } from '@azure/core-rest-pipeline';

/**
 * What requests sent past the storage SDK's operations (transactions, row queries) share: they go
 * through a table client's own pipeline (authentication, retries, any policy added to it) on one
 * HTTP client, and read the service's answers the same way.
 */

let httpClient: HttpClient | undefined;

/** The HTTP client such requests go out on (one per process, as the SDK keeps one). */
export function sharedHttpClient(): HttpClient {
  httpClient ??= createDefaultHttpClient();
  return httpClient;
}

/** The service's error of a failed request (`odata.error`), where its text gives one. */
export function serviceErrorOf(text: string, fallback: string): { message: string; code?: string } {
  const json = /\{.*\}/s.exec(text)?.[0];
  if (json === undefined) return { message: fallback };
  let parsed: { 'odata.error'?: { code?: string; message?: { value?: string } } };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    // Not JSON: the status alone says what failed.
    return { message: fallback };
  }
  const error = parsed['odata.error'];
  if (!error) return { message: fallback };
  return { message: error.message?.value ?? fallback, ...(error.code ? { code: error.code } : {}) };
}

/**
 * A response's body in the chunks it arrived in: streamed (for the statuses the request named in
 * `streamResponseStatusCodes`) or, for any other, the text the pipeline read.
 */
export async function chunksOf(response: PipelineResponse): Promise<Buffer[]> {
  const stream = response.readableStreamBody;
  if (stream === undefined) return [Buffer.from(response.bodyAsText ?? '')];
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return chunks;
}
