/**
 * RFC 5176 §3.5 Error-Cause (attribute 101) values. `name` is exactly FreeRADIUS's dictionary name
 * (share/dictionary.rfc3576 for most, share/dictionary.rfc5176 for 407 and 508), because radclient
 * prints that name and we map it back to the code.
 */
const ERROR_CAUSES: Record<number, { name: string; text: string }> = {
  201: { name: 'Residual-Context-Removed', text: 'Residual Session Context Removed' },
  202: { name: 'Invalid-EAP-Packet', text: 'Invalid EAP Packet (Ignored)' },
  401: { name: 'Unsupported-Attribute', text: 'Unsupported Attribute' },
  402: { name: 'Missing-Attribute', text: 'Missing Attribute' },
  403: { name: 'NAS-Identification-Mismatch', text: 'NAS Identification Mismatch' },
  404: { name: 'Invalid-Request', text: 'Invalid Request' },
  405: { name: 'Unsupported-Service', text: 'Unsupported Service' },
  406: { name: 'Unsupported-Extension', text: 'Unsupported Extension' },
  407: { name: 'Invalid-Attribute-Value', text: 'Invalid Attribute Value' },
  501: { name: 'Administratively-Prohibited', text: 'Administratively Prohibited' },
  502: { name: 'Proxy-Request-Not-Routable', text: 'Request Not Routable (Proxy)' },
  503: { name: 'Session-Context-Not-Found', text: 'Session Context Not Found' },
  504: { name: 'Session-Context-Not-Removable', text: 'Session Context Not Removable' },
  505: { name: 'Proxy-Processing-Error', text: 'Other Proxy Processing Error' },
  506: { name: 'Resources-Unavailable', text: 'Resources Unavailable' },
  507: { name: 'Request-Initiated', text: 'Request Initiated' },
  508: { name: 'Multiple-Session-Selection-Unsupported', text: 'Multiple Session Selection Unsupported' },
};

export interface ErrorCause {
  code: number;
  /** 'Session Context Not Found', or 'Unknown Error-Cause 999' */
  text: string;
}

export const SESSION_CONTEXT_NOT_FOUND = 503;

export function describeErrorCause(code: number): ErrorCause {
  return { code, text: ERROR_CAUSES[code]?.text ?? `Unknown Error-Cause ${code}` };
}

/** radclient prints the dictionary name (`Error-Cause = Session-Context-Not-Found`) or a bare number. */
export function errorCauseFromName(name: string): ErrorCause | undefined {
  const trimmed = name.trim();
  if (/^\d+$/.test(trimmed)) return describeErrorCause(Number(trimmed));
  for (const [code, v] of Object.entries(ERROR_CAUSES)) {
    if (v.name.toLowerCase() === trimmed.toLowerCase()) return describeErrorCause(Number(code));
  }
  return undefined;
}
