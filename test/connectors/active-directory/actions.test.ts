import assert from 'node:assert/strict';
import { createActiveDirectoryActions } from '../../../src/connectors/active-directory/actions';
import { generatePassword } from '../../../src/connectors/active-directory/generated-password';
import type { ActionDef } from '../../../src/connectors/types';
import { ActionRegistry } from '../../../src/engine/action-registry';
import { sambaUnavailableReason, startTestDc, tryBind, type SambaDc } from '../../support/samba-dc';
import { adContext } from './context';

/** ad.lookupAccount / ad.disableAccount / ad.resetPassword as the engine runs them, against a real Samba DC. */
describe('Active Directory actions (real Samba DC)', function () {
  this.timeout(180_000);
  let dc: SambaDc & { cleanup(): Promise<void> };
  // The test seam: the only place a generated password is ever seen.
  const generated: string[] = [];
  const registry = new ActionRegistry(createActiveDirectoryActions({ generatePassword: () => { const p = generatePassword(); generated.push(p); return p; } }));
  const action = (name: string): ActionDef => registry.get(name)!;

  before(function () {
    if (sambaUnavailableReason()) this.skip();
  });
  beforeEach(async () => { generated.length = 0; dc = await startTestDc(); });
  afterEach(async () => { await dc?.cleanup(); });

  it('registers the four actions with their risks', () => {
    assert.deepEqual(registry.names(), ['ad.disableAccount', 'ad.enableAccount', 'ad.lookupAccount', 'ad.resetPassword']);
    assert.equal(action('ad.enableAccount').risk, 'change');
    assert.equal(action('ad.lookupAccount').risk, 'read');
    assert.equal(action('ad.disableAccount').risk, 'destructive');
    assert.equal(action('ad.resetPassword').risk, 'destructive');
  });

  it('looks up CONTOSO\\adm-avance by the SID a Defender for Identity alert carries', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const def = action('ad.lookupAccount');
    const r = await def.run(def.input.parse({ sid: acc.sid, samAccountName: 'adm-avance', domain: 'CONTOSO' }), adContext(dc));
    assert.match(r.summary, new RegExp(`^CONTOSO\\\\adm-avance \\(${acc.sid}\\) at CN=adm-avance,OU=Tier0,DC=contoso,DC=local is enabled; privileged: Administrators, Domain Admins`));
    assert.ok(r.raw.length >= 2 && r.raw.every((p) => p.source === 'ad.ldap'));
    // each payload carries the DC's own clock (rootDSE currentTime) as its source time, and the
    // search entries as `value` records (the report's Active Directory section tabulates them)
    const before = Date.now() - 5 * 60_000;
    for (const p of r.raw) {
      assert.ok(p.rangeFrom && p.rangeFrom === p.rangeTo && Date.parse(p.rangeFrom) > before, `DC time on ${p.note}: ${p.rangeFrom}`);
      const body = JSON.parse(p.body.toString('utf8')) as { dcTime: string; value: Array<{ dn: string }> };
      assert.equal(body.dcTime, p.rangeFrom);
      assert.equal(body.value.length, p.recordCount);
    }
    assert.ok(r.raw.some((p) => (JSON.parse(p.body.toString('utf8')) as { value: Array<{ dn: string }> }).value.some((e) => e.dn.toLowerCase() === acc.dn.toLowerCase())));
  });

  it('disable: the preview names the DC and the exact change; after the run a bind fails with 533 and the preview has nothing to do', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const def = action('ad.disableAccount');
    const input = def.input.parse({ sid: acc.sid, domain: 'contoso.local' });
    const p = await def.preview!(input, adContext(dc));
    assert.deepEqual(p.changes, [`On DC1.contoso.local (${dc.ip}:636): set ACCOUNTDISABLE on CN=adm-avance,OU=Tier0,DC=contoso,DC=local (userAccountControl 512 → 514)`]);
    assert.equal(p.nothingToDo, false);
    assert.ok(p.warnings.some((w) => /Domain Admins: a privileged account/.test(w)));
    assert.ok(p.warnings.some((w) => /Kerberos tickets already issued/.test(w)));
    const r = await def.run(input, adContext(dc));
    assert.match(r.summary, /disabled on DC1\.contoso\.local .*\(userAccountControl 512 → 514\)$/);
    assert.match((await tryBind(dc, acc.upn, acc.password))?.message ?? '', /data 533/);
    const after = await def.preview!(input, adContext(dc));
    assert.equal(after.nothingToDo, true);
    assert.deepEqual(after.changes, []);
    const rerun = await def.run(input, adContext(dc, { mayHaveRun: true }));
    assert.match(rerun.summary, /was already disabled .*nothing written/);
  });

  it('enable (the release of a disable): re-reads first, previews the exact change, binds again after; enabled by hand is reported, not written', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const disable = action('ad.disableAccount');
    const fwdIn = disable.input.parse({ sid: acc.sid, domain: 'CONTOSO' });
    const fwd = await disable.run(fwdIn, adContext(dc));
    const decl = disable.inverse!;
    assert.ok('action' in decl && decl.action === 'ad.enableAccount');
    const def = action('ad.enableAccount');
    const input = def.input.parse(decl.input(fwdIn, fwd.output));
    assert.deepEqual(input, { sid: acc.sid, domain: 'CONTOSO', expectedDn: 'CN=adm-avance,OU=Tier0,DC=contoso,DC=local' });
    const p = await def.preview!(input, adContext(dc));
    assert.deepEqual(p.changes, [`On DC1.contoso.local (${dc.ip}:636): clear ACCOUNTDISABLE on CN=adm-avance,OU=Tier0,DC=contoso,DC=local (userAccountControl 514 → 512)`]);
    assert.equal(p.nothingToDo, false);
    assert.ok(p.warnings.some((w) => /password stays reset.*service desk.*SSPR/.test(w)));
    const r = await def.run(input, adContext(dc));
    assert.match(r.summary, /^CONTOSO\\adm-avance .* enabled on DC1\.contoso\.local .*\(userAccountControl 514 → 512\)$/);
    assert.ok(r.raw.some((x) => x.source === 'ad.ldap' && /"modify"/.test(x.body.toString('utf8'))));
    assert.equal(await tryBind(dc, acc.upn, acc.password), undefined);
    const after = await def.preview!(input, adContext(dc));
    assert.equal(after.nothingToDo, true);
    assert.match(after.notChanged![0].reason, /already enabled/);
    const rerun = await def.run(input, adContext(dc, { mayHaveRun: true }));
    assert.match(rerun.summary, /was already enabled .*nothing written/);
    assert.ok(!rerun.raw.some((x) => /"modify"/.test(x.body.toString('utf8'))), 'nothing written on a re-run');
  });

  it('reset: the new password is known only to the seam, never to the summary, output or evidence; a retry does not reset twice', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const def = action('ad.resetPassword');
    const input = def.input.parse({ samAccountName: 'adm-avance', domain: 'CONTOSO' });
    const intentAt = new Date(Date.now() - 1000);
    const p = await def.preview!(input, adContext(dc));
    assert.match(p.changes[0], new RegExp(`^On DC1\\.contoso\\.local \\(${dc.ip.replace(/\./g, '\\.')}:636\\): replace the password of CN=adm-avance`));
    const r = await def.run(input, adContext(dc, { intentAt }));
    assert.equal(generated.length, 1);
    const [pw] = generated;
    const utf16 = Buffer.from(pw, 'utf16le');
    const everything = [r.summary, JSON.stringify(r.output), ...r.raw.map((x) => x.body.toString('utf8'))].join('\n');
    assert.ok(!everything.includes(pw), 'password in the result');
    assert.ok(r.raw.every((x) => !x.body.includes(utf16)), 'password (UTF-16LE) in the evidence');
    assert.match((await tryBind(dc, acc.upn, acc.password))?.message ?? '', /data 52e/);
    assert.equal(await tryBind(dc, acc.upn, pw), undefined);
    // The engine retries after a crash: mayHaveRun with the same intent time.
    const retry = await def.run(input, adContext(dc, { intentAt, mayHaveRun: true }));
    assert.match(retry.summary, /not reset again .*an earlier attempt reset it/);
    assert.equal(await tryBind(dc, acc.upn, pw), undefined, 'the first password still works');
  });

  it('refuses bad input with a clear line and changes nothing', async () => {
    const def = action('ad.disableAccount');
    const fails = (v: unknown, re: RegExp) => {
      const r = def.input.safeParse(v);
      assert.equal(r.success, false, JSON.stringify(v));
      assert.match(r.error!.issues.map((i) => i.message).join('; '), re);
    };
    fails({ samAccountName: '*' }, /not a sAMAccountName: contains "\*"/);
    fails({ samAccountName: 'adm\\avance' }, /contains "\\\\"/);
    fails({ samAccountName: 'adm\u0000' }, /contains "\\u0000"/);
    fails({ sid: 'S-1-5-21-not-a-sid' }, /not a SID/);
    fails({ domain: 'CONTOSO' }, /needs a SID or a sAMAccountName/);
    fails({ sid: dc.template.accounts['adm-avance'].sid, dn: 'CN=x' }, /Unrecognized key/);
    // a domain that is not the customer's: refused before any LDAP traffic
    await assert.rejects(def.run(def.input.parse({ samAccountName: 'adm-avance', domain: 'FABRIKAM' }), adContext(dc)),
      /domain "FABRIKAM" is not one of Contoso's Active Directory domains \(CONTOSO, contoso\.local\): nothing was looked up or changed/);
    await assert.rejects(def.run(def.input.parse({ samAccountName: 'adm-avance' }), adContext(dc, { ad: null })),
      /Contoso has no activeDirectory section in the customers file/);
    await assert.rejects(def.run(def.input.parse({ samAccountName: 'adm-avance' }), adContext(dc, { password: 'Wrong!Pass-42' })),
      /wrong password \(52e\); check the password behind env:AD_BIND_PASSWORD/);
    const acc = dc.template.accounts['adm-avance'];
    assert.equal(await tryBind(dc, acc.upn, acc.password), undefined, 'still enabled');
  });
});
