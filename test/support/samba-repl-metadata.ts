import { Attribute, Change, type Client } from 'ldapts';

/**
 * How many times the DC itself wrote an attribute: the per-attribute `version` in the object's
 * replPropertyMetaData ([MS-DRSR] 5.161 PROPERTY_META_DATA_EXT, [MS-ADTS] 3.1.1.1.9). Every
 * originating write of the attribute bumps it by one, whoever made it, so the difference
 * before/after an incident counts the disables and password resets the DC really took — an
 * assertion from the peer, not from the bot's own records.
 *
 * The blob (replPropertyMetaDataBlob, version 1): uint32 version, uint32 reserved, uint32 count,
 * uint32 reserved, then `count` 48-byte entries: uint32 attid, uint32 version, NTTIME
 * originating_change_time, GUID originating_invocation_id, uint64 originating_usn, uint64 local_usn.
 */

/** The attids Samba and Windows use for these attributes (ATTRTYP, prefix 0x0009 = 1.2.840.113556.1.4). */
export const ATTID = { userAccountControl: 0x00090008, unicodePwd: 0x0009005a, pwdLastSet: 0x00090060 } as const;

export function parseReplPropertyMetaData(blob: Buffer): Map<number, number> {
  if (blob.length < 16) throw new Error(`replPropertyMetaData: ${blob.length} bytes is shorter than its header`);
  const version = blob.readUInt32LE(0);
  if (version !== 1) throw new Error(`replPropertyMetaData: blob version ${version}, expected 1`);
  const count = blob.readUInt32LE(8);
  if (blob.length < 16 + count * 48) throw new Error(`replPropertyMetaData: ${count} entries need ${16 + count * 48} bytes, got ${blob.length}`);
  const versions = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 48;
    versions.set(blob.readUInt32LE(at), blob.readUInt32LE(at + 4));
  }
  return versions;
}

export interface WriteCounts {
  userAccountControl: number;
  unicodePwd: number;
  /** pwdLastSet as the DC has it (FILETIME, 100 ns since 1601) */
  pwdLastSet: string;
  userAccountControlValue: number;
}

/** The account's write versions, read over LDAP by a client bound as the domain Administrator. */
export async function writeCounts(admin: Client, dn: string): Promise<WriteCounts> {
  const r = await admin.search(dn, { scope: 'base', attributes: ['replPropertyMetaData', 'pwdLastSet', 'userAccountControl'], explicitBufferAttributes: ['replPropertyMetaData'] });
  const e = r.searchEntries[0];
  if (!e) throw new Error(`no entry at ${dn}`);
  const blob = e.replPropertyMetaData;
  if (!Buffer.isBuffer(blob)) throw new Error(`no replPropertyMetaData on ${dn} (read as the domain Administrator?)`);
  const v = parseReplPropertyMetaData(blob);
  const need = (name: keyof typeof ATTID) => {
    const n = v.get(ATTID[name]);
    if (n === undefined) throw new Error(`${dn} has no metadata for ${name}`);
    return n;
  };
  return {
    userAccountControl: need('userAccountControl'), unicodePwd: need('unicodePwd'),
    pwdLastSet: String(e.pwdLastSet), userAccountControlValue: Number(e.userAccountControl),
  };
}

/** How much one change moves each version on this DC (measured, not assumed: see calibrateWriteSteps). */
export interface WriteSteps {
  userAccountControl: number;
  unicodePwd: number;
}

/**
 * Measures, on a scratch account, how far one real change moves each version. Samba 4.x moves
 * userAccountControl's by 2 per change (measured here on Debian's samba: 4 → 6 for a disable, 6 → 8
 * for the enable after it, and 0 for a replace with the same value), so "written once" is "moved by
 * one step", with the step taken from the DC itself. Leaves the account enabled with `password`.
 */
export async function calibrateWriteSteps(admin: Client, dn: string, password: string, encodePassword: (p: string) => Buffer): Promise<WriteSteps> {
  const uac = (v: number) => admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(v)] }) }));
  const c0 = await writeCounts(admin, dn);
  const enabled = c0.userAccountControlValue & ~2;
  if (c0.userAccountControlValue !== enabled) await uac(enabled);
  const c1 = await writeCounts(admin, dn);
  await uac(enabled | 2);
  const c2 = await writeCounts(admin, dn);
  await uac(enabled);
  const c3 = await writeCounts(admin, dn);
  await admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [encodePassword(password)] }) }));
  const c4 = await writeCounts(admin, dn);
  const uacStep = c2.userAccountControl - c1.userAccountControl;
  if (uacStep < 1 || c3.userAccountControl - c2.userAccountControl !== uacStep) {
    throw new Error(`userAccountControl versions do not move by a fixed step per change: ${c1.userAccountControl} → ${c2.userAccountControl} → ${c3.userAccountControl}`);
  }
  const pwdStep = c4.unicodePwd - c3.unicodePwd;
  if (pwdStep < 1) throw new Error(`a password reset did not move unicodePwd's version (${c3.unicodePwd} → ${c4.unicodePwd})`);
  return { userAccountControl: uacStep, unicodePwd: pwdStep };
}
