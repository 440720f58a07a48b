/** The "External users" form as typed, and the API's settings object it stands for. */
export interface SettingsForm {
  readonly tenant: string;
  readonly groupsToSync: string;
  readonly defaultMenus: string;
  readonly periodicSync: boolean;
  readonly deactivationLimit: string;
  readonly notificationEmails: string;
}

export interface SettingsView {
  readonly tenant?: string;
  readonly groupsToSync?: string;
  readonly defaultMenus?: readonly string[];
  readonly periodicSync?: boolean;
  readonly deactivationLimit?: number;
  readonly notificationEmails?: readonly string[];
}

export const EMPTY_SETTINGS_FORM: SettingsForm = {
  tenant: '',
  groupsToSync: '',
  defaultMenus: '',
  periodicSync: false,
  deactivationLimit: '50',
  notificationEmails: '',
};

/** A comma- or newline-separated list, blanks dropped. */
export function splitList(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function toSettingsForm(view: SettingsView | undefined): SettingsForm {
  if (view === undefined) return EMPTY_SETTINGS_FORM;
  return {
    tenant: view.tenant ?? '',
    groupsToSync: (view.groupsToSync ?? '')
      .split(',')
      .filter((id) => id !== '')
      .join(', '),
    defaultMenus: (view.defaultMenus ?? []).join(', '),
    periodicSync: view.periodicSync ?? false,
    deactivationLimit: String(view.deactivationLimit ?? 50),
    notificationEmails: (view.notificationEmails ?? []).join(', '),
  };
}

/**
 * The PUT body. A deactivation limit that is not a whole number goes as typed, so the API's
 * validation names the field rather than the console guessing a number.
 */
export function toSettingsBody(form: SettingsForm): Record<string, unknown> {
  const limit = form.deactivationLimit.trim();
  return {
    tenant: form.tenant.trim(),
    groupsToSync: form.groupsToSync,
    defaultMenus: splitList(form.defaultMenus),
    periodicSync: form.periodicSync,
    deactivationLimit: /^\d+$/.test(limit) ? Number(limit) : limit,
    notificationEmails: splitList(form.notificationEmails),
  };
}

/** A dry run of the form as it stands: its tenant and groups, nothing saved. */
export function toPreviewBody(form: SettingsForm): Record<string, unknown> {
  return { dryRun: true, tenant: form.tenant.trim(), groupsToSync: form.groupsToSync };
}
