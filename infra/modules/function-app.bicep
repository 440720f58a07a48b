// The function app on the Flex Consumption plan, its role assignments and its app settings.
// Every setting the code reads (shared/config.ts SETTING_NAMES, except the local-only PORT) is set
// below in `appSettings`; tests/unit/infra-settings.test.ts keeps the two lists equal.
param location string
param tags object
param name string
param storageAccountName string
param deploymentContainerName string
param keyVaultName string
param secretsKeySecretUri string
param smtpUrlSecretUri string
param applicationInsightsName string
param nodeVersion string
param maximumInstanceCount int
param publicBaseUrl string
param managementIssuer string
param managementAudience string
param managementJwksUri string
param mailFrom string
param syncSchedule string
param directoryHosts string
param consoleClientId string
param consoleScope string

// Built-in role definitions (the GUIDs are the same in every Azure tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Blob: the host's leases and timer schedule, and the deployment package. Queue: the 'sync-runs'
// trigger and its poison queue (the host creates them). Table: all of the app's state.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the deployment target of service 'api' (azure.yaml) by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storage.id, site.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: site.identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource secretsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, site.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource telemetryAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, site.id, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

var effectivePublicBaseUrl = empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl

// Set after the role assignments, so that the host starts with access to storage and Key Vault.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Identity-based AzureWebJobsStorage: the host and shared/config.ts derive the blob, queue and
    // table endpoints from the account name and sign in with the system-assigned identity.
    AzureWebJobsStorage__accountName: storage.name
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
    PUBLIC_BASE_URL: effectivePublicBaseUrl
    MANAGEMENT_ISSUER: managementIssuer
    MANAGEMENT_AUDIENCE: managementAudience
    MANAGEMENT_JWKS_URI: managementJwksUri
    SECRETS_KEY: '@Microsoft.KeyVault(SecretUri=${secretsKeySecretUri})'
    SMTP_URL: '@Microsoft.KeyVault(SecretUri=${smtpUrlSecretUri})'
    MAIL_FROM: mailFrom
    SYNC_SCHEDULE: syncSchedule
    DIRECTORY_HOSTS: directoryHosts
    CONSOLE_CLIENT_ID: consoleClientId
    CONSOLE_SCOPE: consoleScope
  }
  dependsOn: [
    storageAccess
    secretsAccess
    telemetryAccess
  ]
}

output name string = site.name
output publicBaseUrl string = effectivePublicBaseUrl
