import { z } from 'zod';
import { isIP } from 'node:net';
import { ConfigError } from './customers';
import { weakTokenReason } from './token-strength';

/**
 * The process environment, validated once at start. Every variable is listed, grouped and
 * commented in .env.sample. The mode is never guessed from one missing variable: production is the
 * default, and the sandbox (no Teams authentication, sandbox tokens) runs only when IR_MODE=sandbox
 * asks for it — `npm start` does. Production refuses to start without its credentials and strong
 * tokens; the sandbox listens on loopback only.
 */
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().min(min).max(max)).default(String(def));

export const envSchema = z.object({
  /** sandbox | production; unset = production (see resolveMode) */
  IR_MODE: z.enum(['sandbox', 'production']).optional(),
  NODE_ENV: z.string().optional(),
  // --- Teams / Bot Framework -----------------------------------------------------------------
  MicrosoftAppId: z.string().uuid().optional(),
  MicrosoftAppPassword: z.string().optional(),
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('SingleTenant'),
  MicrosoftAppTenantId: z.string().uuid().optional(),
  IR_CHANNEL_NAME: z.string().min(1).max(50).default('sec-ir'),
  BOT_NAME: z.string().min(1).max(30).default('ir'),
  /** the IR channel pinned by configuration (all three, or none: then an MSP admin's installation pins it once) */
  IR_TEAM_ID: z.string().regex(/^19:[\w.\-@]{1,200}$/, 'must be a team id like 19:...@thread.tacv2').optional(),
  IR_CHANNEL_ID: z.string().regex(/^19:[\w.\-@]{1,200}$/, 'must be a channel id like 19:...@thread.tacv2').optional(),
  IR_TENANT_ID: z.string().uuid().optional(),
  /** MSP admins (Entra object ids, comma-separated) who may install the bot and so pin its channel, besides every approver */
  IR_ADMIN_OBJECT_IDS: z.string().regex(/^\s*([0-9a-fA-F-]{36}\s*(,\s*|$))*$/, 'must be Entra object ids separated by commas').optional(),

  // --- HTTP ------------------------------------------------------------------------------------
  PORT: int(3978, 0, 65535),
  /** default: 127.0.0.1 in the sandbox, 0.0.0.0 in production */
  HOST: z.string().optional(),
  PUBLIC_BASE_URL: z.string().url().optional(),
  ALERT_WEBHOOK_TOKEN: z.string().optional(),
  /**
   * ALERT_WEBHOOK_TOKEN is good for every customer's tenant. Alerts should come with the customer's
   * own credential (customers file: intake.webhookTokenRef / hmacSecretRef); in production the
   * MSP-wide token is accepted only when this says so.
   */
  ALERT_WEBHOOK_TOKEN_MSP_WIDE: bool.default('false'),
  IR_API_TOKEN: z.string().optional(),

  // --- Store -----------------------------------------------------------------------------------
  STORE_URL: z.string().optional(),

  // --- Customers, procedures, shifts ------------------------------------------------------------
  CUSTOMERS_FILE: z.string().optional(),
  SHIFTS_FILE: z.string().optional(),
  APPROVAL_TTL_MINUTES: int(60, 1, 24 * 60),
  /** how long a worker's claim on a running step holds; after a crash another worker resumes it after this */
  ENGINE_LEASE_SECONDS: int(60, 5, 3600),
  IMPOSSIBLE_TRAVEL_KMH: int(900, 100, 100_000),
  /** a customer's cached Graph token, connections and client are released after this long unused */
  GRAPH_IDLE_RELEASE_SECONDS: int(900, 10, 24 * 3600),

  // --- The MSP's own mailbox (CISO emails via Graph sendMail) ------------------------------------
  MSP_TENANT_ID: z.string().uuid().optional(),
  MSP_GRAPH_CLIENT_ID: z.string().uuid().optional(),
  MSP_GRAPH_CLIENT_SECRET: z.string().optional(),
  MSP_GRAPH_AUTHORITY_HOST: z.string().url().optional(),
  MSP_GRAPH_BASE_URL: z.string().url().optional(),
  MSP_MAILBOX: z.string().email().optional(),

  // --- Sandbox -----------------------------------------------------------------------------------
  SANDBOX_PLAYGROUND: bool.default('true'),
  PLAYGROUND_PORT: int(56150, 0, 65535),
  /** where the sandbox keeps its FreeRADIUS config and the generated customers file */
  SANDBOX_DATA_DIR: z.string().default('data/sandbox'),
  /** emulator ports (0 = any free port; tests use 0 so they can run beside a running sandbox) */
  SANDBOX_GRAPH_PORT: int(3981, 0, 65535),
  SANDBOX_SERVICENOW_PORT: int(3982, 0, 65535),
  SANDBOX_FORTIGATE_PORT: int(2222, 0, 65535),
  SANDBOX_SWITCH_PORT: int(2223, 0, 65535),
  SANDBOX_NAS_PORT: int(13799, 0, 65535),

  // --- Logging -----------------------------------------------------------------------------------
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Mode = 'sandbox' | 'production';

export type Env = Omit<z.infer<typeof envSchema>, 'HOST'> & {
  mode: Mode;
  HOST: string;
  /** the token accepted for every customer's alerts: the sandbox's, or ALERT_WEBHOOK_TOKEN when ALERT_WEBHOOK_TOKEN_MSP_WIDE=true */
  mspWideAlertToken: string | undefined;
  apiToken: string;
};

export const SANDBOX_TOKEN = 'sandbox-token';
const SANDBOX_HINT = 'the local sandbox is `npm start` (IR_MODE=sandbox)';

/** Sandbox only when asked for; a deployment that loses a variable stays in production and refuses to start. */
function resolveMode(e: z.infer<typeof envSchema>): Mode {
  if (e.IR_MODE === 'sandbox' && e.NODE_ENV === 'production') {
    throw new ConfigError('IR_MODE=sandbox contradicts NODE_ENV=production: the sandbox never runs as a production process');
  }
  if (e.IR_MODE === 'sandbox' && e.MicrosoftAppId) {
    throw new ConfigError('IR_MODE=sandbox but MicrosoftAppId is set: the sandbox does not authenticate Teams; unset MicrosoftAppId or use IR_MODE=production');
  }
  return e.IR_MODE ?? 'production';
}

/** 127.0.0.0/8, ::1 (any spelling), ::ffff:127.x and localhost: the only addresses the sandbox may listen on. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser writes every IPv6 spelling in one canonical form (::ffff:127.0.0.1 → ::ffff:7f00:1).
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings in a .env file mean "not set".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const r = envSchema.safeParse(cleaned);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`environment variable ${i.path.join('.')}: ${i.message}`);
  }
  const e = r.data;
  const mode = resolveMode(e);
  if (mode === 'sandbox') {
    const host = e.HOST ?? '127.0.0.1';
    if (!isLoopbackHost(host)) throw new ConfigError(`HOST=${host}: the sandbox listens on loopback only (127.0.0.1, ::1); use IR_MODE=production to serve others`);
    return { ...e, HOST: host, mode, mspWideAlertToken: e.ALERT_WEBHOOK_TOKEN ?? SANDBOX_TOKEN, apiToken: e.IR_API_TOKEN ?? SANDBOX_TOKEN };
  }
  const missing = [
    !e.MicrosoftAppId ? 'MicrosoftAppId' : null,
    !e.MicrosoftAppPassword && e.MicrosoftAppType !== 'UserAssignedMSI' ? 'MicrosoftAppPassword' : null,
    e.MicrosoftAppType !== 'MultiTenant' && !e.MicrosoftAppTenantId ? 'MicrosoftAppTenantId' : null,
    e.ALERT_WEBHOOK_TOKEN_MSP_WIDE && !e.ALERT_WEBHOOK_TOKEN ? 'ALERT_WEBHOOK_TOKEN' : null,
    !e.IR_API_TOKEN ? 'IR_API_TOKEN' : null,
    !e.CUSTOMERS_FILE ? 'CUSTOMERS_FILE' : null,
    !e.STORE_URL ? 'STORE_URL' : null,
  ].filter(Boolean);
  if (missing.length) throw new ConfigError(`production mode needs ${missing.join(', ')}; ${SANDBOX_HINT}`);
  if (e.ALERT_WEBHOOK_TOKEN && !e.ALERT_WEBHOOK_TOKEN_MSP_WIDE) {
    throw new ConfigError('ALERT_WEBHOOK_TOKEN would accept alerts for every customer: give each customer intake.webhookTokenRef or intake.hmacSecretRef in the customers file, or set ALERT_WEBHOOK_TOKEN_MSP_WIDE=true to accept it anyway');
  }
  for (const name of ['ALERT_WEBHOOK_TOKEN', 'IR_API_TOKEN'] as const) {
    const value = e[name];
    const weak = value === undefined ? undefined : weakTokenReason(value);
    if (weak) throw new ConfigError(`environment variable ${name} ${weak}; generate one with: openssl rand -base64 32`);
  }
  if (e.ALERT_WEBHOOK_TOKEN && e.ALERT_WEBHOOK_TOKEN === e.IR_API_TOKEN) throw new ConfigError('ALERT_WEBHOOK_TOKEN and IR_API_TOKEN must differ: a playbook token must not read incidents');
  return {
    ...e, HOST: e.HOST ?? '0.0.0.0', mode,
    mspWideAlertToken: e.ALERT_WEBHOOK_TOKEN_MSP_WIDE ? e.ALERT_WEBHOOK_TOKEN : undefined,
    apiToken: e.IR_API_TOKEN!,
  };
}
