import type { DirectoryObject, StoredGroup, StoredUser } from './records.js';

export type EntityType = 'user' | 'group' | 'device';

const USER_PROPERTIES = [
  'id',
  'accountEnabled',
  'businessPhones',
  'createdDateTime',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'otherMails',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'userType',
];
/** What Graph returns for a user without `$select` (accountEnabled and otherMails are not among them). */
const USER_DEFAULT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const GROUP_PROPERTIES = [
  'id',
  'classification',
  'createdDateTime',
  'deletedTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'visibility',
];
const DEVICE_PROPERTIES = [
  'id',
  'accountEnabled',
  'deviceId',
  'displayName',
  'operatingSystem',
  'operatingSystemVersion',
];
export const PROPERTIES: Record<EntityType, readonly string[]> = {
  user: USER_PROPERTIES,
  group: GROUP_PROPERTIES,
  device: DEVICE_PROPERTIES,
};

function userType(user: StoredUser): 'Guest' | 'Member' {
  return user.userPrincipalName.includes('#EXT#') ? 'Guest' : 'Member';
}

/** Properties the dev directory stores under their Graph names. */
const USER_STORED = [
  'id',
  'accountEnabled',
  'createdDateTime',
  'displayName',
  'givenName',
  'mail',
  'surname',
  'userPrincipalName',
] as const satisfies readonly (keyof StoredUser)[];
const GROUP_STORED = [
  'id',
  'createdDateTime',
  'description',
  'displayName',
] as const satisfies readonly (keyof StoredGroup)[];

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** Properties Graph computes from what is stored. */
const USER_COMPUTED = new Map<string, (user: StoredUser) => unknown>([
  ['businessPhones', () => []],
  ['mailNickname', (user) => user.userPrincipalName.split('@')[0] ?? null],
  ['otherMails', (user) => [...user.otherMails]],
  ['userType', userType],
]);
const GROUP_COMPUTED = new Map<string, (group: StoredGroup) => unknown>([
  ['groupTypes', () => []],
  ['mailEnabled', () => false],
  [
    'mailNickname',
    (group) => group.displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || group.id.slice(0, 8),
  ],
  ['securityEnabled', () => true],
]);

function userValue(user: StoredUser, property: string): unknown {
  if (isOneOf(USER_STORED, property)) return user[property];
  const compute = USER_COMPUTED.get(property);
  return compute === undefined ? null : compute(user);
}

function groupValue(group: StoredGroup, property: string): unknown {
  if (isOneOf(GROUP_STORED, property)) return group[property];
  const compute = GROUP_COMPUTED.get(property);
  return compute === undefined ? null : compute(group);
}

export function render(
  object: DirectoryObject,
  select: readonly string[] | undefined,
  withType: boolean,
): Record<string, unknown> {
  const result: Record<string, unknown> = withType
    ? { '@odata.type': `#microsoft.graph.${object.type}` }
    : {};
  switch (object.type) {
    case 'user':
      for (const property of select ?? USER_DEFAULT) {
        if (USER_PROPERTIES.includes(property)) result[property] = userValue(object.user, property);
      }
      break;
    case 'group':
      for (const property of select ?? GROUP_PROPERTIES) {
        if (GROUP_PROPERTIES.includes(property)) result[property] = groupValue(object.group, property);
      }
      break;
    case 'device':
      for (const property of select ?? DEVICE_PROPERTIES) {
        if (!DEVICE_PROPERTIES.includes(property)) continue;
        result[property] =
          property === 'id' || property === 'deviceId'
            ? object.device.id
            : property === 'displayName'
              ? object.device.displayName
              : property === 'accountEnabled'
                ? true
                : null;
      }
      break;
  }
  return result;
}
