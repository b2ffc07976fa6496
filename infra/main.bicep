// teams-ir-bot on Azure, as `npm run cluster` runs it locally: N bot instances behind App Service's
// load balancer on one PostgreSQL, each taken out of rotation while its /readyz says not ready.
//
//   App Service plan (Linux) with `instanceCount` instances + Web App (Node 20, `npm run start:prod`)
//   Azure Database for PostgreSQL flexible server + database
//   Key Vault (RBAC) holding every secret; app settings refer to it (@Microsoft.KeyVault(...))
//   user-assigned managed identity that resolves those references (Key Vault Secrets User)
//   Azure Bot (SingleTenant Entra app registration created beforehand) + Microsoft Teams channel
//
// No secret is written here. The PostgreSQL admin password arrives as a @secure() parameter (the
// example parameters file takes it from a bootstrap vault) and lands only in the vault, inside the
// `database-url` secret. The bot's client secret and IR_API_TOKEN are put in the vault by an operator
// (README, "First deployment"). test/infra/bicep-settings.test.ts reads this file: keep each app
// setting on one line as { name: '...', value: ... } inside `var settings`.
//
// The code arrives as a zip built outside App Service (`npm ci && npm run build && npm prune
// --omit=dev`, zipped with dist/, node_modules/, package*.json and the customers file), so
// SCM_DO_BUILD_DURING_DEPLOYMENT is false: App Service runs the artefact that was tested instead of
// rebuilding it (an App Service build with NODE_ENV=production would skip TypeScript, a devDependency).

targetScope = 'resourceGroup'

@description('Short prefix for resource names, e.g. "irbot"; lower case letters and digits.')
@minLength(3)
@maxLength(12)
param namePrefix string

@description('Deployment environment, appended to names.')
@allowed(['dev', 'test', 'prod'])
param envName string = 'prod'

param location string = resourceGroup().location

@description('Bot instances (App Service scale-out). Each holds up to 10 PostgreSQL connections.')
@minValue(1)
@maxValue(10)
param instanceCount int = 3

@description('App Service plan SKU: P0v3 or larger keeps Always On, scale-out and deployment slots.')
param appServiceSku string = 'P0v3'

@description('Application (client) id of the bot\'s single-tenant Entra app registration (created before this deployment).')
@minLength(36)
@maxLength(36)
param botAppId string

@description('Azure Bot SKU: F0 (free, standard channels incl. Teams) or S1.')
@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('Public host name of the bot (a custom domain bound to the web app); empty: <web app>.azurewebsites.net.')
param customHostName string = ''

@description('Path of the customers file on the instances; the code zip carries it (it holds secret references, never secrets).')
param customersFile string = '/home/site/wwwroot/customers.yaml'

@allowed(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
param logLevel string = 'info'

@description('PostgreSQL administrator login name (not a secret).')
param postgresAdminLogin string = 'irbotadmin'

@description('PostgreSQL administrator password. Supply it from a Key Vault reference in the parameters file, never inline.')
@secure()
param postgresAdminPassword string

@description('PostgreSQL compute. B2s: 3 instances x 10 pooled connections fit easily (B1ms allows only about 35).')
param postgresSkuName string = 'Standard_B2s'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@allowed(['14', '15', '16'])
param postgresVersion string = '16'

param postgresStorageGb int = 32

@description('Database the bot uses.')
param databaseName string = 'irbot'

@description('A customer or optional secret: the app setting the customers file refers to (env:NAME) and the vault secret holding it.')
type vaultSetting = {
  @description('App setting name, e.g. CONTOSO_GRAPH_SECRET or MSP_GRAPH_CLIENT_SECRET.')
  setting: string
  @description('Key Vault secret name, e.g. contoso-graph-secret.')
  secret: string
}

@description('Secrets beyond the bot\'s own: each becomes an app setting that is a Key Vault reference.')
param keyVaultAppSettings vaultSetting[] = []

@description('Non-secret optional settings from .env.sample (SHIFTS_FILE, IR_TEAM_ID, MSP_MAILBOX, ...). Never secrets: those go in keyVaultAppSettings.')
param plainAppSettings object = {}

@description('Object id of a person or group allowed to write Key Vault secrets (Key Vault Secrets Officer); the first deployment needs one.')
param secretsOfficerPrincipalId string = ''

param tags object = {
  app: 'teams-ir-bot'
  environment: envName
}

var baseName = '${namePrefix}-${envName}'
var uniq = uniqueString(resourceGroup().id, namePrefix, envName)
// Key Vault names: 3-24 characters, globally unique.
var keyVaultName = take('kv-${namePrefix}-${uniq}', 24)
var webAppName = 'app-${baseName}-${take(uniq, 6)}'
var postgresName = 'psql-${baseName}-${take(uniq, 6)}'
var botName = 'bot-${baseName}-${take(uniq, 6)}'
var publicHost = empty(customHostName) ? '${webAppName}.azurewebsites.net' : customHostName
// Known before deployment (a variable loop may not read a resource's runtime properties).
var vaultUri = 'https://${keyVaultName}${environment().suffixes.keyvaultDns}/'

// Vault secrets the app settings refer to (the operator writes the first two; this template the third).
var botPasswordSecretName = 'bot-app-password'
var apiTokenSecretName = 'ir-api-token'
var databaseUrlSecretName = 'database-url'

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
  }
}

// The managed identity reads secrets (to resolve the app settings' Key Vault references), nothing more.
resource identityReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUserRole)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource officerWritesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
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

// 0.0.0.0 is the documented "Azure services" rule; VNet integration with private access is stricter.
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
  name: databaseUrlSecretName
  properties: {
    contentType: 'text/plain'
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${database.name}?sslmode=require'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${baseName}'
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: appServiceSku
    capacity: instanceCount
  }
  properties: {
    reserved: true // Linux
  }
}

// Every variable production needs (src/config/env.ts, loadEnv) and the mode pinned. One setting per line.
var settings = [
  { name: 'IR_MODE', value: 'production' }
  { name: 'NODE_ENV', value: 'production' }
  { name: 'MicrosoftAppType', value: 'SingleTenant' }
  { name: 'MicrosoftAppId', value: botAppId }
  { name: 'MicrosoftAppTenantId', value: tenant().tenantId }
  { name: 'MicrosoftAppPassword', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${botPasswordSecretName}/)' }
  { name: 'IR_API_TOKEN', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${apiTokenSecretName}/)' }
  { name: 'STORE_URL', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${databaseUrlSecretName}/)' }
  { name: 'CUSTOMERS_FILE', value: customersFile }
  { name: 'PUBLIC_BASE_URL', value: 'https://${publicHost}' }
  { name: 'LOG_LEVEL', value: logLevel }
  // The code zip is built and tested outside App Service (see the header).
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'false' }
  // An instance failing /readyz this many times in a row (one ping a minute) leaves the load balancer.
  { name: 'WEBSITE_HEALTHCHECK_MAXPINGFAILURES', value: '2' }
]

var vaultSettings = [for s in keyVaultAppSettings: {
  name: s.setting
  value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${s.secret}/)'
}]

var extraSettings = [for item in items(plainAppSettings): {
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
    // Round robin: any instance may take any click (the store, not the instance, holds the state).
    clientAffinityEnabled: false
    // Key Vault references resolve with the user-assigned identity, not a system one.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'NODE|20-lts'
      appCommandLine: 'npm run start:prod'
      alwaysOn: true
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/readyz'
      appSettings: concat(settings, vaultSettings, extraSettings)
    }
  }
  dependsOn: [
    identityReadsSecrets
    databaseUrlSecret
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
    endpoint: 'https://${publicHost}/api/messages'
    msaAppType: 'SingleTenant'
    msaAppId: botAppId
    msaAppTenantId: tenant().tenantId
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

output webAppName string = web.name
output publicHostName string = publicHost
output botEndpoint string = bot.properties.endpoint
output keyVaultName string = vault.name
output postgresHost string = postgres.properties.fullyQualifiedDomainName
output identityPrincipalId string = identity.properties.principalId
