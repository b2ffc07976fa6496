/**
 * Disabling an AD account against a real Samba DC: the time from calling the ad.disableAccount
 * action (connect, LDAPS handshake with the pinned CA, bind as the service account, resolve by SID,
 * read state and privileged groups, modify, re-read to confirm, unbind) to its return with the
 * account disabled, against one bare ldapts modify of userAccountControl on an already-bound
 * connection, and against a bare connect + bind + modify, in the same run. Medians of N runs.
 * Run: npx tsx bench/ad-disable.ts [runs=9]   (needs root and Debian's samba; see test/setup/install-system-deps.sh)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Attribute, Change, Client } from 'ldapts';
import { customerSchema } from '../src/config/customers';
import { EnvFileSecretStore } from '../src/config/secrets';
import { createActiveDirectoryActions } from '../src/connectors/active-directory/actions';
import type { ActionContext } from '../src/connectors/types';
import { CONTOSO } from '../src/sandbox/contoso';
import { CONTOSO_AD } from '../src/sandbox/samba/contoso-directory';
import { ensureSambaTemplate, sambaUnavailableReason, startSambaDc, pickLoopbackAddress } from '../src/sandbox/samba/samba-dc';

const RUNS = Number(process.argv[2] ?? 9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const why = sambaUnavailableReason();
  if (why) throw new Error(`no Samba AD DC: ${why}`);
  // The template is kept between bench runs (provisioning takes 10–35 s).
  const template = await ensureSambaTemplate(join(tmpdir(), 'teams-ir-bot-bench-samba', 'template'));
  const dir = await mkdtemp(join(tmpdir(), 'bench-dc-'));
  const dc = await startSambaDc(template, { dir, ip: await pickLoopbackAddress('127.0.20.1') });
  try {
    const svc = template.accounts[CONTOSO_AD.serviceAccount];
    const target = template.accounts['adm-avance'];
    const tlsOptions = { ca: [dc.caPem], servername: dc.servername };
    const url = `ldaps://${dc.ip}:636`;
    const customer = customerSchema.parse({
      id: CONTOSO.customerId, name: CONTOSO.name, tenantId: CONTOSO.tenantId, domains: [CONTOSO.domain],
      graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:X' } },
      contacts: CONTOSO.contacts, approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
      activeDirectory: {
        domains: [{ netbios: CONTOSO_AD.netbios, dns: CONTOSO_AD.dns }], dcs: [{ host: dc.ip, servername: dc.servername }],
        bindUpn: svc.upn, passwordRef: 'env:AD_PW', caCertificateRef: 'env:AD_CA', baseDn: CONTOSO_AD.baseDn,
      },
    });
    const ctx: ActionContext = {
      customer, secrets: new EnvFileSecretStore({ AD_PW: svc.password, AD_CA: dc.caPem }),
      incidentId: 'IR-BENCH', idempotencyKey: 'IR-BENCH:ad', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date(),
    };
    const [, disable] = createActiveDirectoryActions();
    const input = disable.input.parse({ sid: target.sid, domain: 'CONTOSO' });

    // The administrator re-enables the account between measurements (not timed).
    const admin = new Client({ url, tlsOptions });
    await admin.bind(`Administrator@${template.dns}`, template.adminPassword);
    const uac = (v: number) => new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(v)] }) });
    const enable = () => admin.modify(target.dn, uac(512));
    const isDisabled = async () => {
      const r = await admin.search(target.dn, { scope: 'base', attributes: ['userAccountControl'] });
      return (Number(r.searchEntries[0].userAccountControl) & 2) === 2;
    };

    const action: number[] = [];
    const bare: number[] = [];
    const bareWithBind: number[] = [];
    const bound = new Client({ url, tlsOptions });
    await bound.bind(svc.upn, svc.password);
    for (let i = 0; i < RUNS + 1; i++) {
      await enable();
      let t0 = performance.now();
      const r = await disable.run(input, ctx);
      const a = performance.now() - t0;
      if (!(await isDisabled()) || !/512 → 514/.test(r.summary)) throw new Error(`bench: the action did not disable the account: ${r.summary}`);

      await enable();
      t0 = performance.now();
      await bound.modify(target.dn, uac(514));
      const b = performance.now() - t0;
      if (!(await isDisabled())) throw new Error('bench: the bare modify did not disable the account');

      await enable();
      t0 = performance.now();
      const fresh = new Client({ url, tlsOptions });
      await fresh.bind(svc.upn, svc.password);
      await fresh.modify(target.dn, uac(514));
      const c = performance.now() - t0;
      await fresh.unbind();
      if (!(await isDisabled())) throw new Error('bench: the bare connect+bind+modify did not disable the account');
      if (i > 0) { action.push(a); bare.push(b); bareWithBind.push(c); } // the first round warms up
    }
    await bound.unbind();
    await admin.unbind();
    const [ma, mb, mc] = [median(action), median(bare), median(bareWithBind)];
    console.log(`ad.disableAccount against a real Samba AD DC (${dc.servername} on ${dc.ip}), median of ${RUNS}`);
    console.log(`  action (connect, pinned TLS, bind, resolve by SID, read + privileged groups, modify, re-read): ${ma.toFixed(1)} ms`);
    console.log(`  bare ldapts modify on a bound connection:                                          ${mb.toFixed(1)} ms  (action/bare ${(ma / mb).toFixed(1)}x)`);
    console.log(`  bare connect + TLS + bind + modify:                                                ${mc.toFixed(1)} ms  (action/bare ${(ma / mc).toFixed(2)}x)`);
  } finally {
    await dc.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => { console.error(e); process.exit(1); });
