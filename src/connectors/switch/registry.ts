import type { SwitchConfig } from '../../config/customers';
import { AoscxSwitchDriver } from './aoscx-driver';
import type { SwitchDriver, SwitchDriverDeps, SwitchDriverFactory } from './driver';
import { IosSwitchDriver } from './ios-driver';

/** One line per vendor, keyed by `SwitchConfig.kind`. */
export const switchDrivers: Record<SwitchConfig['kind'], SwitchDriverFactory> = {
  'cisco-ios': (config, deps) => new IosSwitchDriver(config, deps),
  'aruba-aoscx': (config, deps) => new AoscxSwitchDriver(config, deps),
};

export function createSwitchDriver(config: SwitchConfig, deps: SwitchDriverDeps, registry: Record<string, SwitchDriverFactory> = switchDrivers): SwitchDriver {
  const factory = registry[config.kind];
  if (!factory) throw new Error(`no switch driver for kind ${JSON.stringify(config.kind)} (switch ${config.id})`);
  return factory(config, deps);
}
