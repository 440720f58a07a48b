import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../scripts/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: { tablePort: number; queuePort: number };
  }
}

/** Starts what every test tier needs, once per `npm test`: Azurite on free ports. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azurite', { tablePort: azurite.tablePort, queuePort: azurite.queuePort });
  return async () => {
    await azurite.stop();
  };
}
