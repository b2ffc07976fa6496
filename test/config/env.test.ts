import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadEnv, isLoopbackHost } from '../../src/config/env';
import { weakTokenReason } from '../../src/config/token-strength';

const APP_ID = '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const TENANT = '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a';

/** assert.throws on the message alone (a RegExp there is matched against "ConfigError: …"). */
function throwsMessage(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => { assert.match(e.message, re); return true; });
}

/** Everything production needs, with fresh random tokens. */
function productionEnv(): Record<string, string> {
  return {
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: 'app-password-from-key-vault',
    MicrosoftAppTenantId: TENANT,
    IR_API_TOKEN: randomBytes(32).toString('hex'),
    CUSTOMERS_FILE: '/etc/ir-bot/customers.yaml',
    STORE_URL: 'postgres://ir@db/ir',
  };
}

describe('environment: the mode', () => {
  it('is production when nothing says sandbox, and says what is missing and where the sandbox is', () => {
    assert.throws(() => loadEnv({}), (e: Error) => {
      assert.match(e.message, /^production mode needs MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppTenantId, IR_API_TOKEN, CUSTOMERS_FILE, STORE_URL; the local sandbox is `npm start` \(IR_MODE=sandbox\)$/);
      assert.doesNotMatch(e.message, /\n/, 'one line');
      return true;
    });
  });

  it('stays production when only MicrosoftAppId is lost (a typo, an unresolved Key Vault reference)', () => {
    for (const extra of [{}, { NODE_ENV: 'production' }, { IR_MODE: 'production' }]) {
      const { MicrosoftAppId: _lost, ...rest } = productionEnv();
      throwsMessage(() => loadEnv({ ...rest, ...extra }), /^production mode needs MicrosoftAppId; /);
    }
  });

  it('is production with NODE_ENV=production or a customers file or store and no IR_MODE', () => {
    for (const extra of [{ NODE_ENV: 'production' }, {}]) {
      const e = loadEnv({ ...productionEnv(), ...extra });
      assert.equal(e.mode, 'production');
      assert.equal(e.HOST, '0.0.0.0');
    }
    throwsMessage(() => loadEnv({ NODE_ENV: 'production' }), /^production mode needs MicrosoftAppId/);
    throwsMessage(() => loadEnv({ CUSTOMERS_FILE: 'customers.yaml' }), /^production mode needs MicrosoftAppId/);
    throwsMessage(() => loadEnv({ STORE_URL: 'postgres://db/ir' }), /^production mode needs MicrosoftAppId/);
  });

  it('is sandbox only when IR_MODE=sandbox asks for it: loopback, sandbox tokens', () => {
    const e = loadEnv({ IR_MODE: 'sandbox' });
    assert.equal(e.mode, 'sandbox');
    assert.equal(e.HOST, '127.0.0.1');
    assert.equal(e.mspWideAlertToken, 'sandbox-token');
    assert.equal(e.apiToken, 'sandbox-token');
    assert.equal(e.PORT, 3978);
    // STORE_URL stays allowed (the tests run the sandbox on PostgreSQL).
    assert.equal(loadEnv({ IR_MODE: 'sandbox', STORE_URL: 'postgres://127.0.0.1/x' }).mode, 'sandbox');
  });

  it('refuses a sandbox on a non-loopback address, or beside production settings', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', '::ffff:10.1.2.3', 'ir-bot.example.com']) {
      throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', HOST: host }), new RegExp(`^HOST=${host.replace(/\./g, '\\.')}: the sandbox listens on loopback only`));
    }
    for (const host of ['127.0.0.1', '::1', 'localhost', '[::1]']) assert.equal(loadEnv({ IR_MODE: 'sandbox', HOST: host }).HOST, host);
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', NODE_ENV: 'production' }), /IR_MODE=sandbox contradicts NODE_ENV=production/);
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', MicrosoftAppId: APP_ID }), /IR_MODE=sandbox but MicrosoftAppId is set/);
    throwsMessage(() => loadEnv({ IR_MODE: 'demo' }), /environment variable IR_MODE/);
  });

  it('knows loopback in every spelling', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'LOCALHOST']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '']) assert.ok(!isLoopbackHost(h), h);
  });

  it('asks for the Bot Framework password and tenant only when the app type needs them', () => {
    const { MicrosoftAppPassword: _p, MicrosoftAppTenantId: _t, ...rest } = productionEnv();
    throwsMessage(() => loadEnv(rest), /^production mode needs MicrosoftAppPassword, MicrosoftAppTenantId;/);
    throwsMessage(() => loadEnv({ ...rest, MicrosoftAppType: 'MultiTenant' }), /^production mode needs MicrosoftAppPassword;/);
    throwsMessage(() => loadEnv({ ...rest, MicrosoftAppType: 'UserAssignedMSI' }), /^production mode needs MicrosoftAppTenantId;/);
    assert.equal(loadEnv({ ...rest, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: TENANT }).mode, 'production');
  });

  it('names a bad variable', () => {
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', PORT: 'eighty' }), /environment variable PORT: must be a whole number/);
  });

  it('GRAPH_IDLE_RELEASE_SECONDS: 900 by default, a whole number of seconds from 10 to a day', () => {
    assert.equal(loadEnv({ IR_MODE: 'sandbox' }).GRAPH_IDLE_RELEASE_SECONDS, 900);
    assert.equal(loadEnv({ IR_MODE: 'sandbox', GRAPH_IDLE_RELEASE_SECONDS: '60' }).GRAPH_IDLE_RELEASE_SECONDS, 60);
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', GRAPH_IDLE_RELEASE_SECONDS: 'soon' }), /GRAPH_IDLE_RELEASE_SECONDS/);
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', GRAPH_IDLE_RELEASE_SECONDS: '0' }), /GRAPH_IDLE_RELEASE_SECONDS/);
    throwsMessage(() => loadEnv({ IR_MODE: 'sandbox', GRAPH_IDLE_RELEASE_SECONDS: '100000' }), /GRAPH_IDLE_RELEASE_SECONDS/);
  });
});

describe('environment: production tokens', () => {
  const weak: Array<[string, RegExp]> = [
    ['sandbox-token', /at least 32 characters \(it has 13\)/],
    [randomBytes(12).toString('base64'), /at least 32 characters/],
    ['sandbox-token-sandbox-token-sandbox-token', /placeholder word "sandbox"/],
    [`${randomBytes(24).toString('base64')}CHANGEME`, /placeholder word "changeme"/],
    ['a'.repeat(40), /only 1 different characters/],
    ['abababababababababababababababab12', /only 4 different characters/],
    ['0123456789abcdef0123456789abcdef', /repeated pattern/],
    ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', /run like abcd/],
    ['x1y2z3x1y2z3x1y2z3x1y2z3x1y2z3x1y2z3q', /only 7 different characters|repeated pattern/],
    ['Qw7Qw8Qe9QrQtQyQuQiQoQpQaQsQdQfQgQh', /more than a third/],
  ];
  for (const [token, why] of weak) {
    it(`refuses ${JSON.stringify(token)} for either token, naming the variable and the rule`, () => {
      assert.match(weakTokenReason(token) ?? '', why);
      for (const name of ['ALERT_WEBHOOK_TOKEN', 'IR_API_TOKEN']) {
        throwsMessage(() => loadEnv({ ...productionEnv(), ALERT_WEBHOOK_TOKEN_MSP_WIDE: 'true', ALERT_WEBHOOK_TOKEN: randomBytes(32).toString('base64'), [name]: token }), new RegExp(`^environment variable ${name} must .*openssl rand -base64 32$`));
      }
    });
  }

  it('accepts what openssl rand -base64 32 / -hex 32 give (and 24 random bytes in base64url)', () => {
    for (let i = 0; i < 300; i++) {
      for (const t of [randomBytes(32).toString('base64'), randomBytes(32).toString('hex'), randomBytes(24).toString('base64url')]) {
        assert.equal(weakTokenReason(t), undefined, t);
      }
    }
  });

  it('refuses the same value for both tokens', () => {
    const t = randomBytes(32).toString('base64');
    throwsMessage(() => loadEnv({ ...productionEnv(), ALERT_WEBHOOK_TOKEN_MSP_WIDE: 'true', ALERT_WEBHOOK_TOKEN: t, IR_API_TOKEN: t }), /must differ/);
  });
});

describe('environment: the MSP-wide alert token', () => {
  it('is refused in production unless ALERT_WEBHOOK_TOKEN_MSP_WIDE=true says it is wanted', () => {
    const token = randomBytes(32).toString('base64');
    assert.equal(loadEnv(productionEnv()).mspWideAlertToken, undefined);
    throwsMessage(() => loadEnv({ ...productionEnv(), ALERT_WEBHOOK_TOKEN: token }), /ALERT_WEBHOOK_TOKEN would accept alerts for every customer.*ALERT_WEBHOOK_TOKEN_MSP_WIDE=true/);
    throwsMessage(() => loadEnv({ ...productionEnv(), ALERT_WEBHOOK_TOKEN_MSP_WIDE: 'true' }), /needs ALERT_WEBHOOK_TOKEN/);
    assert.equal(loadEnv({ ...productionEnv(), ALERT_WEBHOOK_TOKEN: token, ALERT_WEBHOOK_TOKEN_MSP_WIDE: 'true' }).mspWideAlertToken, token);
    assert.equal(loadEnv({ IR_MODE: 'sandbox' }).mspWideAlertToken, 'sandbox-token');
  });
});
