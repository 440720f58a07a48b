import { describe, expect, it } from 'vitest';
import { generatedUserId } from '../../devdir/ids.js';
import { Directory } from '../../devdir/model.js';
import { DirectoryAdminError } from '../../devdir/records.js';

describe('dev directory model', () => {
  it('deduplicates transitive members across nesting and cycles, and keeps listings stable while paging', async () => {
    const directory = await Directory.create({ displayName: 'Model' });
    const alice = directory.addUser({ displayName: 'Alice' });
    const a = directory.addGroup({ displayName: 'A', members: [alice.id] });
    const b = directory.addGroup({ displayName: 'B', members: [alice.id, a.id] });
    directory.addMembers(a.id, [b.id]);
    const listing = directory.transitiveMembers(a.id);
    expect([...listing.ids].sort()).toEqual([alice.id, b.id, a.id].sort());
    directory.removeMembers(a.id, [alice.id]);
    // An earlier listing is still served by its id; a new one reflects the change.
    expect(directory.transitiveMembers(a.id, listing.snapshotId).ids).toBe(listing.ids);
    expect(directory.transitiveMembers(a.id).ids).toContain(alice.id); // still through B
    directory.removeMembers(b.id, [alice.id]);
    expect(directory.transitiveMembers(a.id).ids).not.toContain(alice.id);
  });

  it('gives guests no mail by default, refuses duplicate userPrincipalNames, finds users by any address', async () => {
    const directory = await Directory.create({ domain: 'model.example' });
    const guest = directory.addUser({
      displayName: 'Guest',
      userPrincipalName: 'g_partner.example#EXT#@model.example',
      otherMails: ['g@partner.example'],
    });
    expect(guest.mail).toBeNull();
    expect(directory.addUser({ displayName: 'Member' }).mail).toBe('member@model.example');
    expect(() => directory.addUser({ displayName: 'Member' })).toThrow(DirectoryAdminError);
    expect(directory.userByLogin('G@Partner.example')?.id).toBe(guest.id);
    expect(directory.userByLogin('member@MODEL.example')?.displayName).toBe('Member');
  });

  it('computes generated users and materializes one only when it changes', async () => {
    const directory = await Directory.create({ domain: 'gen.example' });
    const group = directory.addGroup({ displayName: 'G' });
    const other = directory.addGroup({ displayName: 'Other' });
    const generated = directory.generateUsers(group.id, 1_000, { prefix: 'Bulk', disabledEvery: 500 });
    expect(directory.users.size).toBe(0);
    const fifth = generatedUserId(generated.block, 4);
    expect(directory.user(fifth)).toMatchObject({ displayName: 'Bulk 5', mail: 'bulk5@gen.example' });
    expect(directory.user(generatedUserId(generated.block, 499))?.accountEnabled).toBe(false);
    expect(directory.userByLogin('bulk5@gen.example')?.id).toBe(fifth);
    expect(directory.user(generatedUserId(generated.block, 1_000))).toBeUndefined();

    directory.addMembers(other.id, [fifth]);
    directory.updateUser(fifth, { displayName: 'Renamed' });
    expect(directory.users.size).toBe(1);
    expect(directory.transitiveMembers(other.id).ids).toEqual([fifth]);
    directory.removeUser(fifth);
    expect(directory.user(fifth)).toBeUndefined();
    expect(directory.transitiveMembers(group.id).ids).toHaveLength(999);
    expect(directory.transitiveMembers(other.id).ids).toEqual([]);
  });
});
