/**
 * AD stores times as FILETIME: 100-ns intervals since 1601-01-01 UTC, as a decimal string.
 * 0 means never (pwdLastSet 0: must change at next logon); 0x7FFFFFFFFFFFFFFF means never as well.
 */
const EPOCH_DIFF_MS = 11644473600000n;

export function fileTimeToDate(value: string | undefined): Date | undefined {
  if (value === undefined || !/^\d{1,20}$/.test(value)) return undefined;
  const ft = BigInt(value);
  if (ft === 0n || ft >= 0x7fffffffffffffffn) return undefined;
  return new Date(Number(ft / 10000n - EPOCH_DIFF_MS));
}

export function fileTimeToIso(value: string | undefined): string | undefined {
  return fileTimeToDate(value)?.toISOString();
}
