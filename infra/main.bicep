// Everything `azd up` provisions for External Users for BizzStream: one resource group holding the
// function app (Flex Consumption), its storage account, a Key Vault for its secrets, and monitoring.
// The app reaches storage, Key Vault and Application Insights with its own managed identity: no key
// or password of an Azure resource appears in any app setting.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds the names of all resources.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations')
@metadata({ azd: { type: 'location' } })
param location string

@description('MANAGEMENT_ISSUER: issuer (iss) of the tokens the management API accepts, an https URL.')
param managementIssuer string

@description('MANAGEMENT_AUDIENCE: audience (aud) those tokens must carry.')
param managementAudience string

@description('MANAGEMENT_JWKS_URI: https URL of the JSON Web Key Set that signs those tokens.')
param managementJwksUri string

@secure()
@description('SMTP_URL: smtp:// or smtps:// URL of the mail relay, credentials included. Stored in Key Vault.')
param smtpUrl string

@description('MAIL_FROM: sender of the mail the app sends, e.g. "BizzStream <no-reply@example.com>".')
param mailFrom string

@description('PUBLIC_BASE_URL: public origin of the app (custom domain). Empty: the function app\'s own https://<host>.')
param publicBaseUrl string = ''

@description('SYNC_SCHEDULE: NCRONTAB (6 fields, UTC) of the periodic sync.')
param syncSchedule string = '0 */15 * * * *'

@description('DIRECTORY_HOSTS: comma-separated host or host:port the app may reach as a directory (authority and Graph). Empty: none besides Microsoft\'s.')
param directoryHosts string = ''

@description('CONSOLE_CLIENT_ID: client id of the management console\'s app registration.')
param consoleClientId string

@description('CONSOLE_SCOPE: scope the console requests for the management API, e.g. api://bizzstream-external-users/manage.')
param consoleScope string

@secure()
@description('SECRETS_KEY: comma-separated base64 keys of 32 bytes (first encrypts, all decrypt). Empty: keep the value already in Key Vault.')
param secretsKey string = ''

@allowed(['20', '22'])
@description('Node.js version of the Flex Consumption runtime.')
param nodeVersion string = '20'

@minValue(40)
@maxValue(1000)
@description('Upper bound of instances per function group; it also bounds how many syncs run at once.')
param maximumInstanceCount int = 40

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    deploymentContainerName: 'app-package'
  }
}

module vault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'kv-${resourceToken}'
    smtpUrl: smtpUrl
    secretsKey: secretsKey
  }
}

module api 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'func-${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    keyVaultName: vault.outputs.name
    secretsKeySecretUri: vault.outputs.secretsKeySecretUri
    smtpUrlSecretUri: vault.outputs.smtpUrlSecretUri
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    publicBaseUrl: publicBaseUrl
    managementIssuer: managementIssuer
    managementAudience: managementAudience
    managementJwksUri: managementJwksUri
    mailFrom: mailFrom
    syncSchedule: syncSchedule
    directoryHosts: directoryHosts
    consoleClientId: consoleClientId
    consoleScope: consoleScope
  }
}

// azd stores these in .azure/<environment>/.env; none of them is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_NAME string = monitoring.outputs.logAnalyticsName
output SERVICE_API_NAME string = api.outputs.name
output PUBLIC_BASE_URL string = api.outputs.publicBaseUrl
output REDIRECT_URI string = '${api.outputs.publicBaseUrl}/api/auth/callback'
