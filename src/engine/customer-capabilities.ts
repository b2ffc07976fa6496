import type { CustomerConfig } from '../config/customers';

/**
 * Whether a customer has the system an action talks to. A procedure is shared by customers with
 * different estates (no RADIUS, no firewall in scope, no ServiceNow): a step whose system the
 * customer lacks is `skipped` with this reason rather than failing.
 */
export function connectorAvailability(action: string, customer: CustomerConfig): { ok: true } | { ok: false; reason: string } {
  const system = action.split('.')[0];
  switch (system) {
    case 'radius':
      return customer.radius ? { ok: true } : { ok: false, reason: `${customer.name} has no RADIUS configured (customers file: radius)` };
    case 'firewall':
      return customer.firewalls.length > 0 ? { ok: true } : { ok: false, reason: `${customer.name} has no firewall configured (customers file: firewalls)` };
    case 'switch':
      if (customer.switches.length === 0) return { ok: false, reason: `${customer.name} has no access switch configured (customers file: switches)` };
      // containment at the switch is opt-in per customer: off unless the customers file says how
      if (action === 'switch.containPort' && customer.switchContainment === 'off') {
        return { ok: false, reason: `switch containment is off for ${customer.name} (customers file: switchContainment)` };
      }
      return { ok: true };
    case 'servicenow':
    case 'ticket':
      return customer.servicenow ? { ok: true } : { ok: false, reason: `${customer.name} has no ServiceNow instance configured (customers file: servicenow)` };
    case 'threatFeed':
      // the feed entries are also the schedule on which blocks leave the firewalls: kept for every
      // customer whose firewall was blocked, whether or not its devices pull the list
      return { ok: true };
    case 'threatfeed':
      return customer.threatFeed ? { ok: true } : { ok: false, reason: `${customer.name} has no threat feed configured (customers file: threatFeed)` };
    default:
      // entra, m365, defender, mail: Graph is mandatory for every customer
      return { ok: true };
  }
}
