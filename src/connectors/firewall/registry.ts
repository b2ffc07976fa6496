import type { FirewallConfig } from '../../config/customers';
import { FortiGateDriver } from '../fortigate/fortigate-driver';
import { PanOsApiDriver } from '../paloalto/panos-api-driver';
import { PanOsDriver } from '../paloalto/panos-driver';
import type { FirewallDriver, FirewallDriverDeps, FirewallDriverFactory } from './driver';

/** One line per vendor, keyed by `FirewallConfig.kind`. A new vendor is a folder and a line here. */
export const firewallDrivers: Record<FirewallConfig['kind'], FirewallDriverFactory> = {
  fortigate: (config, deps) => new FortiGateDriver(config, deps),
  // the customer's entry chooses the SSH CLI (default) or the XML API
  paloalto: (config, deps) => (config.transport === 'api' ? new PanOsApiDriver(config, deps) : new PanOsDriver(config, deps)),
};

export function createFirewallDriver(config: FirewallConfig, deps: FirewallDriverDeps, registry: Record<string, FirewallDriverFactory> = firewallDrivers): FirewallDriver {
  const factory = registry[config.kind];
  if (!factory) throw new Error(`no firewall driver for kind ${JSON.stringify(config.kind)} (firewall ${config.id})`);
  return factory(config, deps);
}
