import type { DirectoryObject, StoredGroup, StoredUser } from './records.js';
import type { DeviceInfo } from './types.js';

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

type Getter<T> = (record: T) => unknown;

function userGetter(property: string): Getter<StoredUser> {
  if (isOneOf(USER_STORED, property)) {
    const stored = property;
    return (user) => user[stored];
  }
  return USER_COMPUTED.get(property) ?? (() => null);
}

function groupGetter(property: string): Getter<StoredGroup> {
  if (isOneOf(GROUP_STORED, property)) {
    const stored = property;
    return (group) => group[stored];
  }
  return GROUP_COMPUTED.get(property) ?? (() => null);
}

function deviceGetter(property: string): Getter<DeviceInfo> {
  if (property === 'id' || property === 'deviceId') return (device) => device.id;
  if (property === 'displayName') return (device) => device.displayName;
  if (property === 'accountEnabled') return () => true;
  return () => null;
}

/** The wanted properties a type has, each with how to read it, in the order asked. */
function fieldsOf<T>(
  wanted: readonly string[],
  known: readonly string[],
  getter: (property: string) => Getter<T>,
): (readonly [string, Getter<T>])[] {
  return wanted
    .filter((property) => known.includes(property))
    .map((property) => [property, getter(property)]);
}

/** Renders objects as Graph shows them for one `$select`: the selection is resolved once, not per object. */
export function renderer(
  select: readonly string[] | undefined,
  withType: boolean,
): (object: DirectoryObject) => Record<string, unknown> {
  const users = fieldsOf(select ?? USER_DEFAULT, USER_PROPERTIES, userGetter);
  const groups = fieldsOf(select ?? GROUP_PROPERTIES, GROUP_PROPERTIES, groupGetter);
  const devices = fieldsOf(select ?? DEVICE_PROPERTIES, DEVICE_PROPERTIES, deviceGetter);
  return (object) => {
    const result: Record<string, unknown> = withType
      ? { '@odata.type': `#microsoft.graph.${object.type}` }
      : {};
    switch (object.type) {
      case 'user':
        for (const [property, get] of users) result[property] = get(object.user);
        break;
      case 'group':
        for (const [property, get] of groups) result[property] = get(object.group);
        break;
      case 'device':
        for (const [property, get] of devices) result[property] = get(object.device);
        break;
    }
    return result;
  };
}

export function render(
  object: DirectoryObject,
  select: readonly string[] | undefined,
  withType: boolean,
): Record<string, unknown> {
  return renderer(select, withType)(object);
}
