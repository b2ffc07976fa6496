import { createHmac, randomBytes, randomUUID, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import type { EmulatorState } from './state';

/**
 * The Microsoft identity platform, as much as MSAL (in @azure/identity) needs for the client
 * credentials flow: the OpenID metadata document per tenant, and the v2.0 token endpoint taking a
 * client secret or a certificate-signed client assertion. Tokens are HMAC-signed by this emulator
 * and carry the tenant (tid), the app (appid) and its granted application permissions (roles).
 */
export interface TokenClaims {
  tid: string;
  appid: string;
  roles: string[];
  aud: string;
  iss: string;
  iat: number;
  exp: number;
}

export class IdentityPlatform {
  private readonly key = randomBytes(32);

  constructor(private readonly state: EmulatorState, private readonly baseUrl: () => string, private readonly now: () => Date) {}

  openIdConfiguration(tenant: string): Record<string, unknown> {
    const b = `${this.baseUrl()}/${tenant}`;
    return {
      token_endpoint: `${b}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${this.baseUrl()}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${b}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.baseUrl()}/oidc/userinfo`,
      authorization_endpoint: `${b}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${b}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
      kerberos_endpoint: `${b}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: new URL(this.baseUrl()).host,
      rbac_url: 'https://pas.windows.net',
    };
  }

  /** POST /{tenant}/oauth2/v2.0/token: returns [status, body] in the identity platform's shapes. */
  token(tenantId: string, form: URLSearchParams): [number, Record<string, unknown>] {
    const fail = (status: number, error: string, code: number, text: string): [number, Record<string, unknown>] => [status, {
      error, error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${this.now().toISOString()}`,
      error_codes: [code], timestamp: this.now().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID(),
    }];
    const tenant = this.state.tenants.get(tenantId.toLowerCase());
    if (!tenant) return fail(400, 'invalid_request', 90002, `Tenant '${tenantId}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = form.get('client_id') ?? '';
    const app = tenant.apps.get(clientId);
    if (!app) return fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant.name}'.`);
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (!app.secret || !sameText(secret, app.secret)) return fail(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    } else if (assertion !== null) {
      if (!app.certificatePem || !this.assertionValid(assertion, clientId, app.certificatePem)) {
        return fail(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
      }
    } else {
      return fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default')) return fail(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    const iat = Math.floor(this.now().getTime() / 1000);
    const claims: TokenClaims = {
      tid: tenant.id, appid: clientId, roles: [...app.permissions], aud: scope.replace(/\/\.default$/, ''),
      iss: `https://sts.windows.net/${tenant.id}/`, iat, exp: iat + 3599,
    };
    this.state.tokens.push({ tenantId: tenant.id, clientId, at: this.now().toISOString() });
    return [200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: this.sign(claims) }];
  }

  /** The claims of a token this emulator minted, or undefined (bad signature, expired, garbage). */
  verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = this.mac(`${parts[0]}.${parts[1]}`);
    if (!sameText(parts[2], expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
      if (claims.exp * 1000 < this.now().getTime()) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  private sign(claims: TokenClaims): string {
    const head = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: 'graph-emulator' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${head}.${body}.${this.mac(`${head}.${body}`)}`;
  }

  private mac(s: string): string {
    return createHmac('sha256', this.key).update(s).digest('base64url');
  }

  private assertionValid(jwt: string, clientId: string, certPem: string): boolean {
    const [h, p, s] = jwt.split('.');
    if (!h || !p || !s) return false;
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss?: string; sub?: string; exp?: number };
      if (payload.iss !== clientId || payload.sub !== clientId) return false;
      if (!payload.exp || payload.exp * 1000 < this.now().getTime()) return false;
      const alg = header.alg === 'PS256' ? 'PS256' : 'RS256';
      const key = new X509Certificate(certPem).publicKey;
      return verify('sha256', Buffer.from(`${h}.${p}`), alg === 'PS256' ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 } : key, Buffer.from(s, 'base64url'));
    } catch {
      return false;
    }
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
