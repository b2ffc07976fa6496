export type { PolicyMatch, PolicyQuery, BlockResult, RevokeResult, SkippedVpnSession, FirewallDriver, FirewallDriverDeps, FirewallDriverFactory, FlowSession, UnblockResult, VpnSession } from './driver';
export { firewallDrivers, createFirewallDriver } from './registry';
export { firewallActions, createFirewallActions, blockInput, vpnSessionsInput, sessionsInput, matchedPolicyInput, describeMatch, describeRule, type MatchedPolicyInput, type BlockInput, type BlockOutput, type DeviceBlockOutcome, type FirewallActionDeps } from './actions';
export { addressObjectName, ipFromObjectName, parseVpnUser, parseIncidentId, sameVpnUser, fortiOsQuoted, panOsQuoted, UnquotableValueError } from './cli-values';
export { FirewallCommandError } from './cli-driver';
