import { describe, expect, it } from 'vitest';
import { seedDemo } from '../../scripts/demo-seed.js';
import { testRepositories, testServices, useTestEnvironment } from '../support/storage.js';
import { guid } from '../support/ids.js';
import { devDirectoryOrigin } from '../support/dev-directory.js';

describe('seedDemo', () => {
  it('creates tenant and environment "demo" through the services, and converges when run again', async () => {
    useTestEnvironment();
    const input = {
      directoryId: guid(),
      clientId: guid(),
      clientSecret: 'demo-secret',
      // The hosts a tenant may name: this run's dev directory (DIRECTORY_HOSTS of the test environment).
      authorityHost: devDirectoryOrigin(),
      graphBaseUrl: devDirectoryOrigin(),
      groupsToSync: [guid().toUpperCase(), guid()],
    };
    const first = await seedDemo(testServices(), input);
    expect(first.tenant).toMatchObject({ name: 'demo', owner: 'demo-partner', environments: ['demo'] });
    expect(first.settings.groupsToSync).toBe(input.groupsToSync.map((g) => g.toLowerCase()).join(','));

    const again = await seedDemo(testServices(), { ...input, clientSecret: 'rotated' });
    expect(again.settings).toEqual(first.settings);
    const environment = await testRepositories().environments.get('demo');
    expect(environment).toMatchObject({ id: 'demo', externalUsersIntegration: true });
    expect(environment?.externalUsers).toMatchObject({ tenant: 'demo', periodicSync: true });
    expect((await testRepositories().tenants.get('demo'))?.owner).toBe('demo-partner');
    expect((await testRepositories().tenants.getConnection('demo'))?.clientSecret).toBe('rotated');
  });
});
