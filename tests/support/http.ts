import type { HttpResponseInit } from '@azure/functions';

/** The JSON body of a handler's response (handlers here always answer with a string body). */
export function bodyOf(response: HttpResponseInit): unknown {
  if (typeof response.body !== 'string') throw new Error('the response body is not a string');
  return JSON.parse(response.body) as unknown;
}
