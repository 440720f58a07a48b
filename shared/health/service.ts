import { storage } from '../storage/account.js';

/** The app is healthy when its storage answers within a few seconds. */
export async function checkHealth(timeoutMs = 5_000): Promise<{ status: 'ok' }> {
  await storage().ping(AbortSignal.timeout(timeoutMs));
  return { status: 'ok' };
}
