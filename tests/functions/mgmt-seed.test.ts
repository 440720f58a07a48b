import { describe, expect, it } from 'vitest';
import { seedDemo } from '../../scripts/demo-seed.js';
import { getEnvironment } from '../../shared/environments/repository.js';
import { getTenant, getTenantConnection } from '../../shared/tenants/repository.js';
import { useTestEnvironment } from '../support/storage.js';
import { guid } from './mgmt-support.js';

describe('seedDemo', () => {
  it('creates tenant and environment "demo" through the services, and converges when run again', async () => {
    useTestEnvironment();
    const input = {
      directoryId: guid(),
      clientId: guid(),
      clientSecret: 'demo-secret',
      authorityHost: 'https://localhost:7443',
      graphBaseUrl: 'https://localhost:7443/graph',
      groupsToSync: [guid().toUpperCase(), guid()],
    };
    const first = await seedDemo(input);
    expect(first.tenant).toMatchObject({ name: 'demo', owner: 'demo-partner', environments: ['demo'] });
    expect(first.settings.groupsToSync).toBe(input.groupsToSync.map((g) => g.toLowerCase()).join(','));

    const again = await seedDemo({ ...input, clientSecret: 'rotated' });
    expect(again.settings).toEqual(first.settings);
    const environment = await getEnvironment('demo');
    expect(environment).toMatchObject({ id: 'demo', externalUsersIntegration: true });
    expect(environment?.externalUsers).toMatchObject({ tenant: 'demo', periodicSync: true });
    expect((await getTenant('demo'))?.owner).toBe('demo-partner');
    expect((await getTenantConnection('demo'))?.clientSecret).toBe('rotated');
  });
});
