import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { radiusActions } from '../../../src/connectors/radius/actions';
import type { AccountingReport } from '../../../src/connectors/radius/accounting/accounting-session';
import { readSqlAccounting } from '../../../src/connectors/radius/accounting/sql-accounting';
import { parseRadiusString } from '../../../src/connectors/radius/radius-string';
import { actionContext, contosoWithRadius } from './action-context';

const SCHEMA = '/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql';
const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const adele = 'adele.vance@contoso.com';

describe('radius accounting from FreeRADIUS radacct in PostgreSQL', function () {
  this.timeout(30000);
  const db = `radius_test_${randomBytes(6).toString('hex')}`;
  const url = `postgres://postgres@127.0.0.1:5432/${db}`;
  const now = new Date();
  const ago = (h: number) => new Date(now.getTime() - h * 3600_000);

  before(async () => {
    const admin = new Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(readFileSync(SCHEMA, 'utf8'));
    // What FreeRADIUS's queries.conf leaves behind: Start inserts, Interim-Update and Stop update the row.
    const insert = `INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, nasportid, acctstarttime, acctupdatetime, acctstoptime,
      acctsessiontime, acctinputoctets, acctoutputoctets, callingstationid, acctterminatecause, framedipaddress)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;
    await c.query(insert, ['S-1001', 'u-1001', adele, '10.20.0.2', 'port-1', ago(2), ago(2), null, 0, 0, 0, '203.0.113.7', '', '10.99.0.77']);
    await c.query('UPDATE radacct SET acctupdatetime = $1, acctsessiontime = 3600, acctinputoctets = $2, acctoutputoctets = 7000 WHERE acctuniqueid = $3', [ago(1), 2 ** 32 + 5000, 'u-1001']);
    await c.query(insert, ['S-0990', 'u-0990', 'Adele.Vance@contoso.com', '10.20.0.1', null, ago(10), ago(9), ago(8), 7200, 10, 20, '198.51.100.23', 'User-Request', '10.99.0.10']);
    await c.query(insert, ['S-0100', 'u-0100', adele, '10.20.0.1', null, ago(60), ago(50), ago(49), 3600, 1, 2, null, 'Lost-Carrier', null]);
    await c.query(insert, ['S-0001', 'u-0001', adele, '10.20.0.1', null, ago(200), ago(1), null, 0, 0, 0, null, null, null]);
    await c.query(insert, ['S-2001', 'u-2001', 'megan.bowen@contoso.com', '10.20.0.1', null, ago(1), ago(1), null, 0, 0, 0, null, null, null]);
    await c.query(insert, ['S-6666', 'u-6666', "x' OR '1'='1", '10.20.0.1', null, ago(1), ago(1), null, 0, 0, 0, null, null, null]);
    await c.end();
  });
  after(async () => {
    const admin = new Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  it('returns active sessions of any age and the sessions of the window, nothing of other users', async () => {
    const ctx = actionContext(contosoWithRadius({
      accounting: { kind: 'sql', urlRef: 'env:RADIUS_DB' },
      nas: [{ id: 'nas-1', ip: '10.20.0.1', secretRef: 'env:X' }],
    }), new EnvFileSecretStore({ RADIUS_DB: url }));
    const action = radiusActions.find((a) => a.name === 'radius.accounting')!;
    const res = await action.run(action.input.parse({ user: adele, hours: 24 }), ctx);
    const report = res.output as AccountingReport;
    assert.deepEqual(report.sessions.map((s) => [s.acctSessionId, s.active]).sort(), [['S-0001', true], ['S-0990', false], ['S-1001', true]]);
    const s1001 = report.sessions.find((s) => s.acctSessionId === 'S-1001')!;
    assert.equal(s1001.nasIp, '10.20.0.2');
    assert.equal(s1001.framedIp, '10.99.0.77');
    assert.equal(s1001.inputOctets, 2 ** 32 + 5000);
    assert.equal(s1001.lastUpdateAt, ago(1).toISOString());
    const s0990 = report.sessions.find((s) => s.acctSessionId === 'S-0990')!;
    assert.equal(s0990.userName, 'Adele.Vance@contoso.com');
    assert.equal(s0990.terminateCause, 'User-Request');
    assert.equal(res.raw[0].recordCount, 3);
    assert.equal(res.raw[0].rangeFrom, ago(200).toISOString());
    assert.ok(!res.raw[0].body.toString().includes('megan'));
  });

  it('treats the user name as data (parameterised) and refuses a bad table name', async () => {
    const r = await readSqlAccounting({ connectionString: url }, parseRadiusString("x' OR '1'='1", 'user'), { from: ago(24), to: now });
    assert.deepEqual(r.report.sessions.map((s) => s.acctSessionId), ['S-6666']);
    await assert.rejects(readSqlAccounting({ connectionString: url, table: 'radacct; DROP TABLE radacct' }, parseRadiusString(adele, 'u'), { from: ago(24), to: now }), /table name/);
  });

  it('names a missing table and never shows the password of the connection string', async () => {
    const withPassword = `postgres://postgres:hunter2-secret@127.0.0.1:5432/${db}`;
    await assert.rejects(readSqlAccounting({ connectionString: withPassword, table: 'nosuch' }, parseRadiusString(adele, 'u'), { from: ago(24), to: now }), (e: Error) => {
      assert.match(e.message, /no table "nosuch"/);
      assert.ok(!e.message.includes('hunter2'));
      return true;
    });
  });
});
