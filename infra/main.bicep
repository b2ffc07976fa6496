// teams-ir-bot on Azure: bot registration (Teams channel), App Service (Linux, Node 20), Key Vault,
// PostgreSQL flexible server and one user-assigned managed identity that ties them together.
//
// No secret is written here. The bot authenticates to the Bot Framework with the managed identity
// (msaAppType UserAssignedMSI), so there is no bot client secret at all. The PostgreSQL admin password
// arrives as a @secure() parameter (the example parameters file pulls it from an existing Key Vault)
// and is only ever stored as a Key Vault secret; the app reads it through a Key Vault reference.
// Customer credentials (Graph client secrets, firewall keys, ...) are put in the vault by an operator
// and mapped to app settings by name via `keyVaultAppSettings`.

targetScope = 'resourceGroup'

@description('Short prefix for resource names, e.g. "irbot"; lower case letters and digits.')
@minLength(3)
@maxLength(12)
param namePrefix string

@description('Deployment environment, appended to names.')
@allowed(['dev', 'test', 'prod'])
param envName string = 'prod'

param location string = resourceGroup().location

@description('App Service plan SKU. P0v3 keeps Always On and deployment slots.')
param appServiceSku string = 'P0v3'

@description('Azure Bot SKU: F0 (free, standard channels incl. Teams) or S1.')
@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('PostgreSQL administrator login name (not a secret).')
param postgresAdminLogin string = 'irbotadmin'

@description('PostgreSQL administrator password. Supply it from a Key Vault reference in the parameters file, never inline.')
@secure()
param postgresAdminPassword string

@description('PostgreSQL flexible server compute SKU.')
param postgresSkuName string = 'Standard_B1ms'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL major version.')
@allowed(['14', '15', '16'])
param postgresVersion string = '16'

param postgresStorageGb int = 32

@description('Database the bot uses.')
param databaseName string = 'irbot'

@description('App settings whose values come from Key Vault secrets the operator created: [{ setting: "CONTOSO_GRAPH_SECRET", secret: "contoso-graph-secret" }].')
param keyVaultAppSettings array = []

@description('Plain (non-secret) app settings, e.g. { LOG_LEVEL: "info", CUSTOMERS_FILE: "/home/site/customers.yaml" }.')
param appSettings object = {}

@description('Object id of a person or group allowed to manage Key Vault secrets (Key Vault Secrets Officer). Empty: none.')
param secretsOfficerPrincipalId string = ''

param tags object = {
  app: 'teams-ir-bot'
  environment: envName
}

var baseName = '${namePrefix}-${envName}'
var uniq = uniqueString(resourceGroup().id, namePrefix, envName)
// Key Vault names: 3-24 chars, globally unique.
var keyVaultName = take('kv-${namePrefix}-${uniq}', 24)
var webAppName = 'app-${baseName}-${take(uniq, 6)}'
var postgresName = 'psql-${baseName}-${take(uniq, 6)}'
var botName = 'bot-${baseName}-${take(uniq, 6)}'

// Built-in role definition ids.
var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficerRole = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}'
  location: location
  tags: tags
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access by Azure RBAC only: no access policies to drift.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource identityReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUserRole)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource officerManagesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(vault.id, secretsOfficerPrincipalId, keyVaultSecretsOfficerRole)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRole)
    principalId: secretsOfficerPrincipalId
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: postgresName
  location: location
  tags: tags
  sku: {
    name: postgresSkuName
    tier: postgresSkuTier
  }
  properties: {
    version: postgresVersion
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Enabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: postgresStorageGb
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 14
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

// Public access limited to Azure-internal sources (0.0.0.0 is the documented "Azure services" rule);
// move to VNet integration + private access for stricter isolation.
resource postgresAllowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// The connection string is assembled from the secure parameter and lands only in the vault.
resource databaseUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-url'
  properties: {
    contentType: 'text/plain'
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${databaseName}?sslmode=require'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${baseName}'
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: appServiceSku
  }
  properties: {
    reserved: true // Linux
  }
}

var kvRef = [for s in keyVaultAppSettings: {
  name: s.setting
  value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${s.secret}/)'
}]

var baseSettings = [
  { name: 'NODE_ENV', value: 'production' }
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
  // botbuilder: authenticate as the user-assigned managed identity (no client secret exists).
  { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }
  { name: 'MicrosoftAppId', value: identity.properties.clientId }
  { name: 'MicrosoftAppTenantId', value: tenant().tenantId }
  // @azure/identity (DefaultAzureCredential / ManagedIdentityCredential) picks this identity.
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'KEY_VAULT_URI', value: vault.properties.vaultUri }
  // src/config/env.ts: the store is PostgreSQL when STORE_URL is a postgres:// URL.
  { name: 'STORE_URL', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${databaseUrlSecret.name}/)' }
]

var extraSettings = [for item in items(appSettings): {
  name: item.key
  value: string(item.value)
}]

resource web 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  tags: tags
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity, not a system one.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'NODE|20-lts'
      appCommandLine: 'node dist/src/main.js'
      alwaysOn: true
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/healthz'
      appSettings: concat(baseSettings, kvRef, extraSettings)
    }
  }
  dependsOn: [
    identityReadsSecrets
  ]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: 'IR'
    endpoint: 'https://${web.properties.defaultHostName}/api/messages'
    msaAppType: 'UserAssignedMSI'
    msaAppId: identity.properties.clientId
    msaAppTenantId: tenant().tenantId
    msaAppMSIResourceId: identity.id
    disableLocalAuth: false
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
      acceptedTerms: true
    }
  }
}

@description('Bot app id for the Teams manifest: `MicrosoftAppId=<this> npm run package`.')
output botAppId string = identity.properties.clientId
output botEndpoint string = bot.properties.endpoint
output webAppHostName string = web.properties.defaultHostName
output keyVaultName string = vault.name
output keyVaultUri string = vault.properties.vaultUri
output postgresHost string = postgres.properties.fullyQualifiedDomainName
output identityPrincipalId string = identity.properties.principalId
