import { threatFeedActions } from '../../src/connectors/threat-feed';
import { alertSourceActions } from '../../src/connectors/alert-source/actions';
import { actionPorts } from '../../src/operations/action-ports';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { createFirewallActions } from '../../src/connectors/firewall/actions';
import { switchActions } from '../../src/connectors/switch';
import { graphActions } from '../../src/connectors/graph/actions';
import { radiusActions } from '../../src/connectors/radius/actions';
import { serviceNowActions } from '../../src/connectors/servicenow/actions';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { ProcedureCatalog } from '../../src/engine/procedure';
import { createEvidenceActions } from '../../src/evidence/actions';
import { IntakeService } from '../../src/intake/intake-service';
import { PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { activeDirectoryActions } from '../../src/connectors/active-directory/actions';
import { createIdentityActions } from '../../src/connectors/identity/actions';
import { startSandbox, type Sandbox } from '../../src/sandbox/start-sandbox';
import type { Store } from '../../src/store/store';

/**
 * An incident as production leaves it: the sample alert goes through the intake, the engine runs
 * the real default procedure with the real connectors against the sandbox emulators (Graph,
 * FortiGate, ServiceNow, FreeRADIUS when installed), and Alex Wilber approves each containment
 * step. Whatever the store then holds (findings, actions, evidence, timeline) was written by the
 * engine itself, so the readers' tests see the shape production writes, not one made up by hand.
 */

export const ALEX_CLICKER = { aadObjectId: PLAYGROUND_USERS.alex.aadObjectId, name: PLAYGROUND_USERS.alex.name };
const CONTAINMENT_STEPS = ['entra-contain', 'radius-disconnect', 'firewall-block'];
const quiet = pino({ level: 'silent' });

export interface SandboxRun {
  incidentId: string;
  alertId: string;
  customer: CustomerConfig;
}

export interface ProcedureSandbox {
  sandbox: Sandbox;
  customer: CustomerConfig;
  /** runs one incident to the end of containment and the report (and the ticket); the CISO email step is left awaiting approval unless asked */
  run(store: Store, opts?: { alertTitle?: string; approveCisoEmail?: boolean }): Promise<SandboxRun>;
  close(): Promise<void>;
}

export async function startProcedureSandbox(): Promise<ProcedureSandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-procedure-'));
  const sandbox = await startSandbox({ dataDir: path.join(dir, 'sandbox'), log: quiet, ports: { graph: 0, serviceNow: 0, fortigate: 0, accessSwitch: 0, nas: 0 }, samba: false });
  const customers = sandbox.customers.customers;
  const byId = new Map(customers.map((c) => [c.id, c]));
  const byTenant = new Map(customers.map((c) => [c.tenantId.toLowerCase(), c]));
  const secrets = new EnvFileSecretStore(sandbox.env);
  const env = sandbox.env;
  // The MSP mailbox as main.ts builds it from the sandbox's values.
  const msp = {
    tenantId: env.MSP_TENANT_ID, clientId: env.MSP_GRAPH_CLIENT_ID, credentialRef: 'env:MSP_GRAPH_CLIENT_SECRET', mailbox: env.MSP_MAILBOX,
    authorityHost: env.MSP_GRAPH_AUTHORITY_HOST, baseUrl: env.MSP_GRAPH_BASE_URL, caCertificateRef: 'env:SANDBOX_GRAPH_CA_PEM',
  };
  const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'graph', 'alert-impossible-travel.json'), 'utf8')) as Record<string, unknown>;
  const customer = byTenant.get(String(sample.tenantId).toLowerCase())!;

  const run: ProcedureSandbox['run'] = async (store, opts = {}) => {
    const registry = new ActionRegistry(
      graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
      createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
      createEvidenceActions({ store, customers: (id) => byId.get(id), msp }),
    );
    const procedures = ProcedureCatalog.load({ registry, customers });
    const engine = new Engine({ store, registry, procedures, secrets, log: quiet, customers: (id) => byId.get(id), ports: actionPorts(store) });
    const intake = new IntakeService({ store, customerByTenant: (t) => byTenant.get(t.toLowerCase()), log: quiet });

    const now = Date.now();
    const alert = {
      ...sample,
      id: `da${now}_${randomBytes(3).toString('hex')}`,
      createdDateTime: new Date(now - 120_000).toISOString(),
      lastUpdateDateTime: new Date(now - 60_000).toISOString(),
      ...(opts.alertTitle ? { title: opts.alertTitle } : {}),
    };
    // Defender raises it in the emulated tenant (the ticket step comments on it), then it is posted to the bot.
    const raised = sandbox.raiseAlert(alert);
    if (!raised.ok) throw new Error(`the sandbox did not raise the alert: ${raised.reason}`);
    const [r] = await intake.receive(alert, 'webhook', { kind: 'customers', customerIds: new Set([customer.id]) });
    const incidentId = r.incidentId;
    await engine.startIncident(incidentId);
    await engine.settle();
    for (const stepId of [...CONTAINMENT_STEPS, ...(opts.approveCisoEmail ? ['notify-ciso'] : [])]) {
      const a = await store.getAction(`${incidentId}:${stepId}`);
      if (a?.status !== 'awaiting_approval') continue; // skipped: the customer lacks that system, or nothing to act on
      const d = await engine.decideByStep({ incidentId, stepId, vote: 'approve', clicker: ALEX_CLICKER });
      if (!d.ok) throw new Error(`${stepId}: approval refused: ${d.reason}`);
      await engine.settle();
    }
    await engine.stop();
    return { incidentId, alertId: alert.id as string, customer };
  };

  return {
    sandbox,
    customer,
    run,
    close: async () => {
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
