// The service account controller against the real API pipeline: every namespace gets a `default`
// ServiceAccount (the system ones at start, new ones when made), one deleted comes back (a new uid),
// and a namespace being deleted gets none.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { isNotFound, NAMESPACES, SERVICEACCOUNTS, type ApiClient } from '../../src/client/index.js';
import { DEFAULT_SERVICE_ACCOUNT, ServiceAccountController } from '../../src/controllers/serviceaccount.js';
import { uidOf } from '../../src/controllers/machinery/objects.js';
import { adminClient, eventually, runControllers, sleep, testApi } from './controllers-helpers.js';

async function defaultAccountUid(client: ApiClient, namespace: string): Promise<string | undefined> {
  try {
    return uidOf(await client.get(SERVICEACCOUNTS, namespace, DEFAULT_SERVICE_ACCOUNT));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

test('every namespace gets a default ServiceAccount, and gets it back when it is deleted', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [new ServiceAccountController({ client, log: silentLogger() })]);
  try {
    for (const namespace of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      await eventually(async () => (await defaultAccountUid(client, namespace)) !== undefined, `the default ServiceAccount in ${namespace}`);
    }
    await client.create(NAMESPACES, undefined, { metadata: { name: 'team' } });
    await eventually(async () => (await defaultAccountUid(client, 'team')) !== undefined, 'the default ServiceAccount in a new namespace');

    const before = await defaultAccountUid(client, 'team');
    await client.delete(SERVICEACCOUNTS, 'team', DEFAULT_SERVICE_ACCOUNT);
    await eventually(async () => {
      const now = await defaultAccountUid(client, 'team');
      return now !== undefined && now !== before;
    }, 'the deleted default ServiceAccount is made again');

    // A namespace on its way out (no namespace controller here, so it stays Terminating) gets none back.
    await client.delete(NAMESPACES, undefined, 'team');
    await client.delete(SERVICEACCOUNTS, 'team', DEFAULT_SERVICE_ACCOUNT);
    await sleep(300);
    t.is(await defaultAccountUid(client, 'team'), undefined);
  } finally {
    running.stop();
    api.handler.close();
  }
});
