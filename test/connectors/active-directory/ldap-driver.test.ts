import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { LdapDirectoryService } from '../../../src/connectors/active-directory/ldap-driver';
import { ConnectorError } from '../../../src/connectors/types';
import { generateCa } from '../../../src/sandbox/samba/tls-material';
import { adminClient, sambaUnavailableReason, startTestDc, tryBind, type SambaDc } from '../../support/samba-dc';
import { adConfig, adSecrets } from './context';

/** The `ldap` driver against a real Samba AD DC, bound as the least-privilege service account. */
describe('Active Directory ldap driver (real Samba DC)', function () {
  this.timeout(180_000);
  let dc: SambaDc & { cleanup(): Promise<void> };

  before(function () {
    const why = sambaUnavailableReason();
    if (why) this.skip();
  });
  beforeEach(async () => { dc = await startTestDc(); });
  afterEach(async () => { await dc?.cleanup(); });

  const open = (overrides: Parameters<typeof adConfig>[1] = {}, secrets?: { password?: string; caPem?: string }) =>
    LdapDirectoryService.open(adConfig(dc, overrides), adSecrets(dc, secrets));
  const rejectsWith = async (p: Promise<unknown>, re: RegExp) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ConnectorError, `expected a ConnectorError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.match(e.message, re);
      return true;
    });
  };

  it('resolves adm-avance by SID and by sAMAccountName to the same account, with its privileged groups', async () => {
    const seeded = dc.template.accounts['adm-avance'];
    const dir = await open();
    try {
      const bySid = await dir.resolve({ sid: seeded.sid });
      const bySam = await dir.resolve({ samAccountName: 'adm-avance' });
      assert.deepEqual(bySid, bySam);
      assert.deepEqual(bySid, { sid: seeded.sid, samAccountName: 'adm-avance', dn: 'CN=adm-avance,OU=Tier0,DC=contoso,DC=local' });
      const s = await dir.read({ sid: seeded.sid }, { perDcLogons: true });
      assert.equal(s.userPrincipalName, 'adm-avance@contoso.com');
      assert.equal(s.userAccountControl, 512);
      assert.equal(s.enabled, true);
      assert.equal(s.lockedOut, false);
      assert.equal(s.badPwdCount, 0);
      assert.deepEqual(s.memberOf, ['CN=Domain Admins,CN=Users,DC=contoso,DC=local']);
      // Domain Admins is itself a member of BUILTIN\Administrators: found through the chain rule.
      assert.deepEqual(s.privilegedGroups, ['Administrators', 'Domain Admins']);
      assert.ok(s.pwdLastSet && Math.abs(Date.parse(s.pwdLastSet) - Date.now()) < 7 * 24 * 3600_000, `pwdLastSet ${s.pwdLastSet}`);
      assert.equal(s.lastLogonPerDc.length, 1);
      assert.equal(s.lastLogonPerDc[0].dc, `DC1.contoso.local (${dc.ip}:636)`);
      assert.equal(s.dc, `DC1.contoso.local (${dc.ip}:636)`);
      // the evidence names the DC and carries the SID as a string, never a password
      const raw = dir.raw().map((r) => r.body.toString('utf8')).join('\n');
      assert.match(raw, new RegExp(seeded.sid));
    } finally {
      await dir.close();
    }
  });

  it('finds a privileged membership that exists only through nesting (Tier0-Ops in Backup Operators)', async () => {
    const dir = await open();
    try {
      const s = await dir.read({ samAccountName: 'adm-nwilke' });
      assert.deepEqual(s.memberOf, ['CN=Tier0-Ops,OU=Tier0,DC=contoso,DC=local']);
      assert.deepEqual(s.privilegedGroups, ['Backup Operators']);
      const plain = await dir.read({ samAccountName: 'alex.wilber' });
      assert.deepEqual(plain.privilegedGroups, []);
    } finally {
      await dir.close();
    }
  });

  it('matches LDAP metacharacters literally: "*" is not a wildcard, "(", ")", "\\" inject nothing, NUL is refused', async () => {
    const dir = await open();
    try {
      for (const name of ['*', 'adm-*', '*)(objectClass=*', 'adm-avance)(|(sAMAccountName=*', 'adm\\2aavance', 'adm-avance\\']) {
        await rejectsWith(dir.resolve({ samAccountName: name }), /no user account with sAMAccountName/);
      }
      await rejectsWith(dir.resolve({ samAccountName: 'adm-avance\0' }), /contains a NUL character/);
      // and the real name still matches exactly
      assert.equal((await dir.resolve({ samAccountName: 'adm-avance' })).samAccountName, 'adm-avance');
    } finally {
      await dir.close();
    }
  });

  it('refuses a SID that is not a SID and says when a well-formed SID is unknown', async () => {
    const dir = await open();
    try {
      for (const bad of ['S-1-5-21-abc', 'S-1-5-21-1-2-3-99999999999', '*', 'S-1-5-21-1)(objectSid=*', '']) {
        await rejectsWith(dir.resolve({ sid: bad }), /not a SID/);
      }
      const unknown = `${dc.template.domainSid}-987654`;
      await rejectsWith(dir.resolve({ sid: unknown }), new RegExp(`no user account with objectSid ${unknown}`));
      // a group's SID (Domain Admins, RID 512) is not an account to disable
      await rejectsWith(dir.disable({ sid: `${dc.template.domainSid}-512` }), /no user account with objectSid S-1-5-21-[\d-]+-512 /);
    } finally {
      await dir.close();
    }
  });

  it('disables adm-avance (512 → 514): a bind with its password then fails with 533; a second disable writes nothing', async () => {
    const acc = dc.template.accounts['adm-avance'];
    assert.equal(await tryBind(dc, acc.upn, acc.password), undefined);
    const dir = await open();
    try {
      const o = await dir.disable({ sid: acc.sid });
      assert.equal(o.changed, true);
      assert.equal(o.userAccountControlBefore, 512);
      assert.equal(o.userAccountControlAfter, 514);
      const again = await dir.disable({ samAccountName: 'adm-avance' });
      assert.equal(again.changed, false);
      assert.equal(again.userAccountControlBefore, 514);
    } finally {
      await dir.close();
    }
    const err = await tryBind(dc, acc.upn, acc.password);
    assert.equal(err?.code, 49);
    assert.match(err!.message, /data 533/);
    assert.match(await dc.tool(['user', 'show', 'adm-avance', '--attributes=userAccountControl']), /^userAccountControl: 514$/m);
  });

  it('enables adm-avance again (514 → 512): its password binds again; an account already enabled (by hand) is left alone', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const dir = await open();
    try {
      const first = await dir.enable({ sid: acc.sid });
      assert.equal(first.changed, false, 'enabled from the start: nothing written');
      assert.equal(first.userAccountControlBefore, 512);
      await dir.disable({ sid: acc.sid });
      const before = dir.raw().length;
      const o = await dir.enable({ sid: acc.sid }, { expectedDn: 'CN=adm-avance,OU=Tier0,DC=contoso,DC=local' });
      assert.deepEqual([o.changed, o.userAccountControlBefore, o.userAccountControlAfter, o.movedFrom], [true, 514, 512, undefined]);
      const modify = dir.raw().slice(before).map((r) => r.body.toString('utf8')).filter((b) => b.includes('"modify"'));
      assert.equal(modify.length, 1);
      assert.match(modify[0], /"replace":\{"userAccountControl":"512"\},"before":"514"/);
      const again = await dir.enable({ samAccountName: 'adm-avance' });
      assert.equal(again.changed, false);
    } finally {
      await dir.close();
    }
    assert.equal(await tryBind(dc, acc.upn, acc.password), undefined);
    assert.match(await dc.tool(['user', 'show', 'adm-avance', '--attributes=userAccountControl']), /^userAccountControl: 512$/m);
  });

  it('resets the password: the old one fails (52e), the new one binds', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const intentAt = new Date(Date.now() - 1000);
    const newPassword = 'Nw!' + Math.random().toString(36).slice(2) + 'Q7x';
    const dir = await open();
    try {
      const o = await dir.resetPassword({ sid: acc.sid }, newPassword, { mayHaveRun: false, intentAt });
      assert.equal(o.changed, true);
      assert.ok(o.pwdLastSet && Date.parse(o.pwdLastSet) >= intentAt.getTime() - 2000, `pwdLastSet ${o.pwdLastSet}`);
      const raw = dir.raw().map((r) => r.body.toString('utf8')).join('\n');
      assert.ok(!raw.includes(newPassword), 'the password never reaches the evidence');
    } finally {
      await dir.close();
    }
    const old = await tryBind(dc, acc.upn, acc.password);
    assert.equal(old?.code, 49);
    assert.match(old!.message, /data 52e/);
    assert.equal(await tryBind(dc, acc.upn, newPassword), undefined);
  });

  it('a retry of a reset (mayHaveRun) whose pwdLastSet is after the intent does not reset again', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const intentAt = new Date(Date.now() - 1000);
    const first = 'Fi!' + Math.random().toString(36).slice(2) + 'Q7x';
    const second = 'Se!' + Math.random().toString(36).slice(2) + 'Q7x';
    const dir = await open();
    try {
      assert.equal((await dir.resetPassword({ sid: acc.sid }, first, { mayHaveRun: false, intentAt })).changed, true);
      const retry = await dir.resetPassword({ sid: acc.sid }, second, { mayHaveRun: true, intentAt });
      assert.equal(retry.changed, false);
      assert.match(retry.reason ?? '', /already set at .* after this step's intent/);
    } finally {
      await dir.close();
    }
    assert.equal(await tryBind(dc, acc.upn, first), undefined, 'the first reset stands');
    assert.equal((await tryBind(dc, acc.upn, second))?.code, 49, 'the retry did not write its password');
  });

  it('writes at the new place of an account moved since the lookup, and says so; a move out of the delegated OU is refused (50)', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const admin = await adminClient(dc);
    try {
      await admin.add('OU=Moved,OU=Tier0,DC=contoso,DC=local', { objectClass: ['top', 'organizationalUnit'] });
      await admin.modifyDN(acc.dn, 'CN=adm-avance,OU=Moved,OU=Tier0,DC=contoso,DC=local');
    } finally {
      await admin.unbind();
    }
    const dir = await open();
    try {
      const o = await dir.disable({ sid: acc.sid }, { expectedDn: acc.dn });
      assert.equal(o.changed, true);
      assert.equal(o.movedFrom, acc.dn);
      assert.equal(o.account.dn, 'CN=adm-avance,OU=Moved,OU=Tier0,DC=contoso,DC=local');
      // alex.wilber lives in OU=Staff, where svc-irbot has no right: 50, nothing changed
      await rejectsWith(dir.disable({ samAccountName: 'alex.wilber' }), /insufficient access rights \(50, 00002098\)/);
      assert.equal((await dir.read({ samAccountName: 'alex.wilber' })).userAccountControl, 512);
      await rejectsWith(dir.resetPassword({ samAccountName: 'alex.wilber' }, 'Xx!9' + Math.random().toString(36), { mayHaveRun: false, intentAt: new Date() }), /insufficient access rights/);
    } finally {
      await dir.close();
    }
  });

  it('a wrong service password is a clear 52e line naming the reference, never the value', async () => {
    await assert.rejects(open({}, { password: 'Wrong!Password-1' }), (e: Error) => {
      assert.match(e.message, /refused the bind as svc-irbot@contoso\.local: wrong password \(52e\); check the password behind env:AD_BIND_PASSWORD/);
      assert.ok(!e.message.includes('Wrong!Password-1'));
      return true;
    });
  });

  it('a disabled or locked-out service account is a clear line (533, 775), naming no password', async () => {
    const svc = dc.template.accounts['svc-irbot'];
    const admin = await adminClient(dc);
    const uac = (v: number) => new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(v)] }) });
    try {
      await admin.modify(svc.dn, uac(514));
      await rejectsWith(open(), /refused the bind as svc-irbot@contoso\.local: account disabled \(533\)$/);
      await admin.modify(svc.dn, uac(512));
      await admin.modify(dc.template.baseDn, new Change({ operation: 'replace', modification: new Attribute({ type: 'lockoutThreshold', values: ['3'] }) }));
      for (let i = 0; i < 3; i++) await rejectsWith(open({}, { password: `Wrong!${i}-Password` }), /wrong password \(52e\)/);
      await rejectsWith(open(), /refused the bind as svc-irbot@contoso\.local: account locked out \(775\)$/);
    } finally {
      await admin.unbind();
    }
    assert.equal(svc.dn, 'CN=svc-irbot,CN=Users,DC=contoso,DC=local');
  });

  it('refuses a DC that presents another certificate (other CA, or a fingerprint pin that does not match)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'other-ca-'));
    try {
      const other = await generateCa(dir, 'Not Contoso CA');
      await rejectsWith(open({}, { caPem: other.caPem }), /presented a certificate that is not the pinned one/);
      const wrongPin = Array.from({ length: 32 }, () => 'AB').join(':');
      await rejectsWith(open({ dcs: [{ host: dc.ip, servername: dc.servername, port: 636, certificateSha256: wrongPin }] }), /presented a certificate that is not the pinned one/);
      await rejectsWith(open({ dcs: [{ host: dc.ip, servername: 'dc9.contoso.local', port: 636 }] }), /presented a certificate that is not the pinned one \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips a DC that does not answer and writes to the next one, naming it', async () => {
    const dead = { host: '127.0.9.254', servername: dc.servername, port: 636 };
    const dir = await open({ dcs: [dead, { host: dc.ip, servername: dc.servername, port: 636 }] });
    try {
      assert.equal(dir.dc, `DC1.contoso.local (${dc.ip}:636)`);
      const s = await dir.read({ samAccountName: 'adm-avance' }, { perDcLogons: true });
      assert.equal(s.lastLogonPerDc.length, 2);
      assert.match(s.lastLogonPerDc[1].error ?? '', /127\.0\.9\.254.*did not answer/);
    } finally {
      await dir.close();
    }
  });

  it('the delegation is least privilege: svc-irbot cannot write another attribute of an account it may disable', async () => {
    const dir = await open();
    try {
      const client = (dir as unknown as { client: import('ldapts').Client }).client;
      await assert.rejects(client.modify(dc.template.accounts['adm-avance'].dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['x'] }) })),
        (e: Error & { code?: number }) => e.code === 50);
    } finally {
      await dir.close();
    }
  });
});
