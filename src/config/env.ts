import { z } from 'zod';
import { ConfigError } from './customers';

/**
 * The process environment, validated once at start. Every variable is listed, grouped and
 * commented in .env.sample. Sandbox mode (no MicrosoftAppId) gets safe local defaults and says so;
 * production refuses to start without its tokens.
 */
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().min(min).max(max)).default(String(def));

export const envSchema = z.object({
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
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_BASE_URL: z.string().url().optional(),
  ALERT_WEBHOOK_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * ALERT_WEBHOOK_TOKEN is good for every customer's tenant. Alerts should come with the customer's
   * own credential (customers file: intake.webhookTokenRef / hmacSecretRef); in production the
   * MSP-wide token is accepted only when this says so.
   */
  ALERT_WEBHOOK_TOKEN_MSP_WIDE: bool.default('false'),
  IR_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

  // --- Store -----------------------------------------------------------------------------------
  STORE_URL: z.string().optional(),

  // --- Customers, procedures, shifts ------------------------------------------------------------
  CUSTOMERS_FILE: z.string().optional(),
  SHIFTS_FILE: z.string().optional(),
  APPROVAL_TTL_MINUTES: int(60, 1, 24 * 60),
  /** how long a worker's claim on a running step holds; after a crash another worker resumes it after this */
  ENGINE_LEASE_SECONDS: int(60, 5, 3600),
  IMPOSSIBLE_TRAVEL_KMH: int(900, 100, 100_000),

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
  SANDBOX_NAS_PORT: int(13799, 0, 65535),

  // --- Logging -----------------------------------------------------------------------------------
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema> & {
  mode: 'sandbox' | 'production';
  alertWebhookToken: string;
  /** the token accepted for every customer's alerts: the sandbox's, or ALERT_WEBHOOK_TOKEN when ALERT_WEBHOOK_TOKEN_MSP_WIDE=true */
  mspWideAlertToken: string | undefined;
  apiToken: string;
};

export const SANDBOX_TOKEN = 'sandbox-token';

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings in a .env file mean "not set".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const r = envSchema.safeParse(cleaned);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`environment variable ${i.path.join('.')}: ${i.message}`);
  }
  const e = r.data;
  const mode = e.MicrosoftAppId ? 'production' : 'sandbox';
  if (mode === 'production') {
    const missing = [
      !e.MicrosoftAppPassword && e.MicrosoftAppType !== 'UserAssignedMSI' ? 'MicrosoftAppPassword' : null,
      e.MicrosoftAppType !== 'MultiTenant' && !e.MicrosoftAppTenantId ? 'MicrosoftAppTenantId' : null,
      e.ALERT_WEBHOOK_TOKEN_MSP_WIDE && !e.ALERT_WEBHOOK_TOKEN ? 'ALERT_WEBHOOK_TOKEN' : null,
      !e.IR_API_TOKEN ? 'IR_API_TOKEN' : null,
      !e.CUSTOMERS_FILE ? 'CUSTOMERS_FILE' : null,
      !e.STORE_URL ? 'STORE_URL' : null,
    ].filter(Boolean);
    if (missing.length) throw new ConfigError(`production mode (MicrosoftAppId is set) needs ${missing.join(', ')}`);
    if (e.ALERT_WEBHOOK_TOKEN && !e.ALERT_WEBHOOK_TOKEN_MSP_WIDE) {
      throw new ConfigError('ALERT_WEBHOOK_TOKEN would accept alerts for every customer: give each customer intake.webhookTokenRef or intake.hmacSecretRef in the customers file, or set ALERT_WEBHOOK_TOKEN_MSP_WIDE=true to accept it anyway');
    }
  }
  return {
    ...e,
    mode,
    alertWebhookToken: e.ALERT_WEBHOOK_TOKEN ?? SANDBOX_TOKEN,
    mspWideAlertToken: mode === 'sandbox' ? (e.ALERT_WEBHOOK_TOKEN ?? SANDBOX_TOKEN) : e.ALERT_WEBHOOK_TOKEN_MSP_WIDE ? e.ALERT_WEBHOOK_TOKEN : undefined,
    apiToken: e.IR_API_TOKEN ?? SANDBOX_TOKEN,
  };
}
