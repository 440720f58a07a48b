import { beforeAll, describe, expect, it } from 'vitest';
import { CollectionPage } from '../../devdir/graph-results.js';
import { createTestDirectory, generatedUserId, type TestDirectory } from '../support/dev-directory.js';

const SELECT = 'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled';
/** V8 puts strings from this size on in its large-object space: no piece of a page may reach it. */
const LARGE_OBJECT = 128 * 1024;

const AWKWARD = ['Zoë Ünïcode', '漢字 名前', 'Emoji 😀 person', 'Quote "q" back\\slash', 'Tab\tand\nnewline'];

/** Every eleventh member is gone (deleted since the listing was taken): left out of the page. */
function member(index: number): Record<string, unknown> | undefined {
  if (index % 11 === 10) return undefined;
  return {
    '@odata.type': '#microsoft.graph.user',
    id: `0000aaaa-bbbb-4ccc-8ddd-${index.toString(16).padStart(12, '0')}`,
    displayName: `${AWKWARD[index % AWKWARD.length]} ${index}`,
    givenName: index % 3 === 0 ? null : 'Given',
    otherMails: index % 4 === 0 ? [`other${index}@partner.example`] : [],
    accountEnabled: index % 7 !== 0,
  };
}

describe('member pages of the dev directory, serialized in pieces', () => {
  const context = 'https://localhost:1/v1.0/$metadata#users(id)';
  it.each([
    { name: 'an empty page', head: { '@odata.context': context }, count: 0 },
    { name: 'one member', head: { '@odata.context': context }, count: 1 },
    {
      name: 'a full page with a count and a link',
      head: { '@odata.context': context, '@odata.count': 5000, '@odata.nextLink': 'https://x/?$skiptoken=a' },
      count: 999,
    },
    { name: 'a page without a head', head: {}, count: 20 },
  ])('give the bytes JSON.stringify gives: $name', ({ head, count }) => {
    const items = Array.from({ length: count }, (_, index) => index);
    const page = new CollectionPage(head, items, member);
    const chunks = page.jsonChunks();
    const whole = JSON.stringify({ ...head, value: items.map(member).filter((m) => m !== undefined) });
    expect(Buffer.concat(chunks).toString('utf8')).toBe(whole);
    // Inside a $batch answer the page is one value among others.
    expect(JSON.stringify({ responses: [{ body: page }] })).toBe(`{"responses":[{"body":${whole}}]}`);
    for (const chunk of chunks) expect(chunk.length).toBeLessThan(LARGE_OBJECT);
    if (count === 999) expect(chunks.length).toBeGreaterThan(4);
  });
});

describe('large member pages over HTTPS', () => {
  let directory: TestDirectory;
  let token: string;

  async function get(path: string): Promise<{ status: number; headers: Headers; text: string }> {
    const response = await fetch(path.startsWith('https:') ? path : `${directory.graphBaseUrl}/v1.0${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(bytes.length);
    return { status: response.status, headers: response.headers, text: bytes.toString('utf8') };
  }

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Pages test', domain: 'pages.example' });
    token = await directory.issueAccessToken();
  });

  it('pages through every member exactly once, in listing order, with multi-byte names in full pages', async () => {
    const group = await directory.addGroup('Everyone');
    const stored: string[] = [];
    for (const name of AWKWARD) stored.push((await directory.addUser({ displayName: name })).id);
    await directory.addMembers(group.id, stored);
    const block = await directory.generateUsers(group.id, 2500, { prefix: 'Ünï', disabledEvery: 9 });
    const generated = Array.from({ length: 2500 }, (_, index) => generatedUserId(block.block, index));
    await directory.removeMembers(group.id, [generated[3] ?? '']);
    await directory.removeUser(generated[4] ?? '');
    const expected = [...stored, ...generated.filter((_, index) => ![3, 4, 2000].includes(index))];

    const seen: string[] = [];
    let next: string | undefined =
      `/groups/${group.id}/transitiveMembers/microsoft.graph.user?$select=${SELECT}&$top=999`;
    let pages = 0;
    while (next !== undefined) {
      const page = await get(next);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^application\/json;odata\.metadata=minimal/);
      const body = JSON.parse(page.text) as Record<string, unknown> & { value: { id: string }[] };
      // The text is exactly what JSON.stringify makes of it: no piece lost, doubled or split apart.
      expect(page.text).toBe(JSON.stringify(body));
      expect(Object.keys(body)).toEqual(
        body['@odata.nextLink'] === undefined
          ? ['@odata.context', 'value']
          : ['@odata.context', '@odata.nextLink', 'value'],
      );
      seen.push(...body.value.map((user) => user.id));
      if (pages === 0) {
        expect(
          body.value.slice(0, AWKWARD.length).map((user) => (user as { displayName?: string }).displayName),
        ).toEqual(AWKWARD);
        // A change while paging does not move the listing being paged; a user deleted meanwhile is left out.
        await directory.renameUser(generated[1500] ?? '', 'Renamed mid-listing');
        await directory.removeUser(generated[2000] ?? '');
      }
      next = body['@odata.nextLink'] as string | undefined;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);
  });

  it('pages direct members over the directory as it is at each page', async () => {
    const group = await directory.addGroup('Direct');
    const block = await directory.generateUsers(group.id, 250);
    const first = JSON.parse((await get(`/groups/${group.id}/members?$select=id&$top=100`)).text) as {
      '@odata.nextLink': string;
      value: { id: string }[];
    };
    expect(first.value.map((user) => user.id)).toEqual(
      Array.from({ length: 100 }, (_, index) => generatedUserId(block.block, index)),
    );
    await directory.removeMembers(
      group.id,
      Array.from({ length: 10 }, (_, index) => generatedUserId(block.block, index)),
    );
    const second = JSON.parse((await get(first['@odata.nextLink'])).text) as { value: { id: string }[] };
    expect(second.value[0]?.id).toBe(generatedUserId(block.block, 110));
  });

  it('accepts a token after one key rotation and refuses it after the second', async () => {
    const other = await createTestDirectory({ displayName: 'Pages rotation' });
    const before = await other.issueAccessToken();
    const group = await other.addGroup('Rotation');
    const read = async (): Promise<number> =>
      (
        await fetch(`${other.graphBaseUrl}/v1.0/groups/${group.id}/members`, {
          headers: { authorization: `Bearer ${before}` },
        })
      ).status;
    expect(await read()).toBe(200);
    await other.rotateKeys();
    expect(await read()).toBe(200);
    await other.rotateKeys();
    expect(await read()).toBe(401);
  });
});
