export type { PortFacts, SwitchDriver, SwitchDriverDeps, SwitchDriverFactory } from './driver';
export type { MacTableEntry, PortAuthSession, PortLogLine, PortNeighbor, PortStatus } from './port-facts';
export { switchDrivers, createSwitchDriver } from './registry';
export { switchActions, createSwitchActions, describePort, portFactsInput, containPortInput, portListInput, type ContainPortInput, type ContainPortOutput, type ContainedPort, type SwitchContainmentMode, type UnshutPortOutput, type PortListInput, type PortFactsInput, type PortFactsOutput, type PortFactsRowResult, type SwitchActionDeps } from './actions';
export { parseSwitchPort, parseMac, formatMac, type SwitchPort, type Mac, type SwitchKind } from './switch-values';
export { SwitchCommandError } from './cli-switch-driver';
