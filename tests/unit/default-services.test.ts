import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultServices } from '../../shared/app/default.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the services the Functions host runs', () => {
  it('refuse to load in Azure with bad settings, naming each one', () => {
    vi.stubEnv('AZURE_FUNCTIONS_ENVIRONMENT', 'Production');
    vi.stubEnv('WEBSITE_INSTANCE_ID', 'test');
    vi.stubEnv('AzureWebJobsStorage__accountName', 'stexample123');
    vi.stubEnv('PUBLIC_BASE_URL', 'http://not-https.example.com');
    vi.stubEnv('MAIL_FROM', 'nobody');
    expect(() => defaultServices()).toThrow(/cannot start.*PUBLIC_BASE_URL must be an https URL.*MAIL_FROM/);
    expect(() => defaultServices()).toThrow(/CONSOLE_CLIENT_ID is required/);
  });
});
