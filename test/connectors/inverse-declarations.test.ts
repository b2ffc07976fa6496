import assert from 'node:assert/strict';
import pino from 'pino';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { activeDirectoryActions } from '../../src/connectors/active-directory/actions';
import { alertSourceActions } from '../../src/connectors/alert-source/actions';
import { createFirewallActions } from '../../src/connectors/firewall/actions';
import { graphActions } from '../../src/connectors/graph/actions';
import { createIdentityActions } from '../../src/connectors/identity/actions';
import { radiusActions } from '../../src/connectors/radius/actions';
import { serviceNowActions } from '../../src/connectors/servicenow/actions';
import { switchActions } from '../../src/connectors/switch';
import { threatFeedActions } from '../../src/connectors/threat-feed';
import type { ActionContext, ActionDef } from '../../src/connectors/types';
import { ActionRegistry } from '../../src/engine/action-registry';
import { createEvidenceActions } from '../../src/evidence/actions';
import { actionPorts } from '../../src/operations/action-ports';
import { CONTOSO } from '../../src/sandbox/contoso';
import { contosoFortiGateState, startFortiOsEmulator } from '../../src/sandbox/fortios/fortios-emulator';
import { startGraphEmulator } from '../../src/sandbox/graph/emulator';
import { contosoAccessSwitchState, startIosSwitchEmulator } from '../../src/sandbox/switch/switch-emulator';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { graphActionContext, graphSandboxCustomers } from '../support/graph-sandbox';
import { customer } from './firewall/customers';
import { firewallConfig, fwSecrets, FW_USER } from './firewall/helpers';

/**
 * Issue 14: every destructive action declares its inverse (or why it has none) next to its
 * definition. This walks the registry as main.ts builds it: a destructive action without a
 * declaration, an inverse that is not registered, or an inverse input that the inverse's own schema
 * refuses (given a forward input/output made by running the forward action) fails here.
 */
async function realRegistry(store: Store): Promise<ActionRegistry> {
  return new ActionRegistry(
    graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
    createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
    createEvidenceActions({ store, customers: () => undefined }),
  );
}

/** Forward actions whose inverse input is parsed after a real forward run in their own test file. */
const PARSED_ELSEWHERE: Record<string, string> = {
  'ad.disableAccount': 'test/connectors/active-directory/actions.test.ts (real Samba DC)',
  'identity.contain': 'test/connectors/identity/identity-actions.test.ts (synced, Graph emulator)',
  'identity.containMany': 'test/engine/storm-procedure.test.ts (30 storm accounts, Graph emulator)',
};

describe('inverse declarations (the registry as main.ts builds it)', function () {
  this.timeout(60_000);
  let store: Store;
  let registry: ActionRegistry;
  before(async () => { store = await openStore('sqlite::memory:'); registry = await realRegistry(store); });
  after(async () => { await store.close(); });

  const undone = () => registry.names().map((n) => registry.get(n)!).filter((d) => d.risk === 'destructive' || d.name === 'threatFeed.list');

  it('every destructive action (and threatFeed.list) declares an inverse that is registered, or says why there is none', () => {
    const names = undone().map((d) => d.name);
    for (const expected of ['identity.contain', 'entra.contain', 'ad.disableAccount', 'ad.resetPassword', 'radius.disconnect', 'firewall.block', 'switch.containPort', 'threatFeed.list']) {
      assert.ok((names as string[]).includes(expected), `${expected} is in the registry`);
    }
    const problems: string[] = [];
    for (const d of undone()) {
      const inv = d.inverse;
      if (!inv) { problems.push(`${d.name}: no inverse declared`); continue; }
      if ('none' in inv) {
        if (inv.none.trim().length < 20) problems.push(`${d.name}: the reason it cannot be undone says too little: ${JSON.stringify(inv.none)}`);
        continue;
      }
      const target = registry.get(inv.action as string);
      if (!target) problems.push(`${d.name}: inverse ${inv.action} is not registered`);
      else if (target.risk === 'destructive') problems.push(`${d.name}: inverse ${inv.action} is itself destructive (an inverse is a change with a preview)`);
      else if (!target.preview) problems.push(`${d.name}: inverse ${inv.action} has no preview for the release card`);
    }
    assert.deepEqual(problems, []);
    // what cannot be undone says how the user gets going again
    const none = (n: string) => { const i = registry.get(n)!.inverse!; assert.ok('none' in i); return i.none; };
    assert.match(none('ad.resetPassword'), /service desk.*temporary.*SSPR/);
    assert.match(none('radius.disconnect'), /re-authenticates by itself/);
  });

  it("each inverse's input() parses with the inverse's schema, given a forward input/output from a real forward run", async () => {
    const samples = new Map<string, { input: unknown; output: unknown }>();
    const run = async (name: string, input: unknown, ctx: ActionContext) => {
      const d = registry.get(name)! as ActionDef<unknown, unknown>;
      const parsed = d.input.parse(input);
      samples.set(name, { input: parsed, output: (await d.run(parsed, ctx)).output });
    };
    // firewall.block, then threatFeed.list with its feed entries (FortiOS emulator, a real store behind the ports)
    const fgt = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: contosoFortiGateState() });
    try {
      const c = customer(CONTOSO, [firewallConfig('fortigate', fgt, { id: 'contoso-fgt-1' })]);
      await store.createIncident({ id: 'IR-20261127-7K3Q', customerId: 'contoso', tenantId: CONTOSO.tenantId, subjectUpn: 'a@contoso.com', subjectObjectId: null, severity: 'high', title: 't', status: 'contained', procedure: null, createdAt: '2026-11-27T08:00:00.000Z', data: {} }, []);
      const ctx: ActionContext = { customer: c, secrets: fwSecrets, incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date('2026-11-27T09:00:00Z'), ports: actionPorts(store)(c) };
      await run('firewall.block', { ips: ['203.0.113.7', CONTOSO.attackerIpv6], incidentId: 'IR-20261127-7K3Q' }, ctx);
      await run('threatFeed.list', { entries: (samples.get('firewall.block')!.output as { feedEntries: unknown[] }).feedEntries }, ctx);
    } finally { await fgt.close(); }
    // switch.containPort (Cisco IOS emulator), on a port the switch-ports step placed the device on
    const sw = await startIosSwitchEmulator({ users: [{ username: 'ir-bot', password: 'sw' }], state: contosoAccessSwitchState() });
    try {
      const c = customer(CONTOSO, [], { switchContainment: 'shut-port', switches: [{ id: 'sw-lis-3', kind: 'cisco-ios', nasIp: '10.20.0.3', allowPortShutdown: true, ssh: { host: '127.0.0.1', port: sw.port, username: 'ir-bot', passwordRef: 'env:SW', hostKeySha256: sw.hostKeySha256, timeoutMs: 5000 } }] });
      await run('switch.containPort', { ports: [{ nasIp: '10.20.0.3', nasPortId: 'GigabitEthernet1/0/12', outcome: 'ok', switchId: 'sw-lis-3', port: 'Gi1/0/12' }] }, { customer: c, secrets: new EnvFileSecretStore({ SW: 'sw' }), incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date() });
    } finally { await sw.close(); }
    // entra.contain (Graph emulator)
    const graph = await startGraphEmulator();
    try {
      const env = graphSandboxCustomers(graph);
      await run('entra.contain', { upn: CONTOSO.adele.upn }, graphActionContext(env.contoso, env.secrets));
    } finally { await graph.close(); }

    const checked: string[] = [];
    for (const d of undone()) {
      const inv = d.inverse!;
      if ('none' in inv) continue;
      if (PARSED_ELSEWHERE[d.name]) { checked.push(`${d.name} (in ${PARSED_ELSEWHERE[d.name]})`); continue; }
      const sample = samples.get(d.name);
      assert.ok(sample, `${d.name}: no forward run here to make its inverse input from: add one`);
      const target = registry.get(inv.action)!;
      const parsed = target.input.safeParse(inv.input(sample.input, sample.output));
      assert.ok(parsed.success, `${d.name} → ${inv.action}: ${parsed.success ? '' : parsed.error.message}`);
      checked.push(d.name);
    }
    assert.deepEqual(checked.sort(), [
      'ad.disableAccount (in test/connectors/active-directory/actions.test.ts (real Samba DC))',
      'entra.contain', 'firewall.block',
      'identity.contain (in test/connectors/identity/identity-actions.test.ts (synced, Graph emulator))',
      'identity.containMany (in test/engine/storm-procedure.test.ts (30 storm accounts, Graph emulator))',
      'switch.containPort', 'threatFeed.list',
    ]);
  });
});
