// Key Vault (RBAC mode) holding the app's two secrets. App settings reference them by versionless
// URI, so a new secret version reaches the app without a template change.
param location string
param tags object
param name string

@secure()
param smtpUrl string

@secure()
@description('Empty: leave SECRETS-KEY as it is in the vault (managed there by the operator).')
param secretsKey string

var secretsKeySecretName = 'SECRETS-KEY'
var smtpUrlSecretName = 'SMTP-URL'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // SECRETS-KEY is the only way to read the tenants' stored client secrets: never purge it early.
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource smtpUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: smtpUrlSecretName
  properties: {
    value: smtpUrl
    contentType: 'text/plain; smtp URL'
  }
}

resource secretsKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(secretsKey)) {
  parent: vault
  name: secretsKeySecretName
  properties: {
    value: secretsKey
    contentType: 'text/plain; comma-separated base64 AES-256 keys, the first encrypts'
  }
}

output name string = vault.name
// vaultUri ends with a slash; the trailing slash keeps the reference versionless (latest version).
output secretsKeySecretUri string = '${vault.properties.vaultUri}secrets/${secretsKeySecretName}/'
output smtpUrlSecretUri string = '${vault.properties.vaultUri}secrets/${smtpUrlSecretName}/'
