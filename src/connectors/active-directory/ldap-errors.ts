import { ConnectorError } from '../types';

/**
 * AD's bind and write refusals carry a Win32 code in the diagnostic message ("… data 52e, v1db1",
 * "00002098: SecErr: …"). Each gets a line a person can act on; the message never contains a
 * password (ldapts' errors carry only the server's diagnostic).
 */
const BIND_DATA: Record<string, string> = {
  '525': 'no such user',
  '52e': 'wrong password',
  '530': 'not permitted to log on at this time',
  '531': 'not permitted to log on from this workstation',
  '532': 'password expired',
  '533': 'account disabled',
  '701': 'account expired',
  '773': 'password must be changed before first logon',
  '775': 'account locked out',
};

export function bindDataCode(message: string): string | undefined {
  const m = /data ([0-9a-f]{3,8})\b/i.exec(message);
  return m ? m[1].toLowerCase().replace(/^0+(?=[0-9a-f]{3})/, '') : undefined;
}

/** Why a simple bind was refused, from its diagnostic message: 'account disabled (533)'. */
export function describeBindRefusal(message: string): string {
  const code = bindDataCode(message);
  if (code && BIND_DATA[code]) return `${BIND_DATA[code]} (${code})`;
  return code ? `refused (data ${code})` : 'refused';
}

const TLS_CODES = /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_[A-Z_]+|ERR_AD_CERT_PIN)$/;
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

interface LdapLikeError { code?: unknown; message?: string; name?: string }

/** A connection-level failure (TLS or network), told apart from a refusal by the DC. */
export function isConnectionError(e: unknown): boolean {
  const code = String((e as LdapLikeError)?.code ?? '');
  return NETWORK_CODES.test(code) || /timeout|Connection closed|socket/i.test((e as Error)?.message ?? '');
}

export function isCertificateError(e: unknown): boolean {
  return TLS_CODES.test(String((e as LdapLikeError)?.code ?? ''));
}

/**
 * Maps an ldapts or socket error to a ConnectorError. `dc` names the DC; `what` says what was
 * being done ('bind as svc-irbot@contoso.local', 'disable CN=…').
 */
export function mapLdapError(e: unknown, dc: string, what: string, passwordRef?: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = e as LdapLikeError;
  const message = err?.message ?? String(e);
  const code = err?.code;
  if (isCertificateError(e)) {
    return new ConnectorError(`${dc} presented a certificate that is not the pinned one (${String(code)}): nothing was changed; check the DC's certificate against caCertificateRef/certificateSha256`, { source: 'ad.ldap', cause: e });
  }
  if (typeof code === 'string' && NETWORK_CODES.test(code)) {
    return new ConnectorError(`${dc} did not answer (${code}) to ${what}`, { source: 'ad.ldap', retryable: true, cause: e });
  }
  if (code === 49) {
    const why = describeBindRefusal(message);
    return new ConnectorError(`${dc} refused ${what}: ${why}${passwordRef && bindDataCode(message) === '52e' ? `; check the password behind ${passwordRef}` : ''}`, { source: 'ad.ldap', cause: e });
  }
  if (code === 50 || /00002098/.test(message)) {
    return new ConnectorError(`${dc} refused ${what}: insufficient access rights (50, 00002098): the service account lacks the delegated right on this account's OU (or the account is protected by AdminSDHolder)`, { source: 'ad.ldap', cause: e });
  }
  if (code === 19 && /0000052D/i.test(message)) {
    return new ConnectorError(`${dc} refused ${what}: the password does not meet the domain's password policy (19, 0000052D)`, { source: 'ad.ldap', cause: e });
  }
  if (code === 8) {
    return new ConnectorError(`${dc} refused ${what}: it requires transport encryption (use LDAPS)`, { source: 'ad.ldap', cause: e });
  }
  if (code === 32) {
    return new ConnectorError(`${dc}: the object of ${what} no longer exists (32)`, { source: 'ad.ldap', cause: e });
  }
  if (/timeout|Connection closed/i.test(message)) {
    return new ConnectorError(`${dc} did not answer to ${what} in time (${message})`, { source: 'ad.ldap', retryable: true, cause: e });
  }
  return new ConnectorError(`${dc} refused ${what}: ${typeof code === 'number' ? `LDAP ${code}: ` : ''}${message.split('\n')[0].slice(0, 200)}`, { source: 'ad.ldap', cause: e });
}
