import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeLocation, openStore, parseStoreUrl } from '../../src/store/open-store';

describe('openStore', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-open-store-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads STORE_URL forms', () => {
    assert.deepEqual(parseStoreUrl(undefined), { dialect: 'sqlite', file: './data/ir.sqlite' });
    assert.deepEqual(parseStoreUrl(''), { dialect: 'sqlite', file: './data/ir.sqlite' });
    assert.deepEqual(parseStoreUrl('sqlite::memory:'), { dialect: 'sqlite', file: ':memory:' });
    assert.deepEqual(parseStoreUrl('sqlite:./x/y.db'), { dialect: 'sqlite', file: './x/y.db' });
    assert.deepEqual(parseStoreUrl('sqlite:///var/lib/ir.db'), { dialect: 'sqlite', file: '/var/lib/ir.db' });
    assert.deepEqual(parseStoreUrl('postgresql://u:p@h/db'), { dialect: 'postgres', url: 'postgresql://u:p@h/db' });
  });

  it('refuses an unknown scheme without echoing the URL (it may hold a password)', () => {
    assert.throws(() => parseStoreUrl('mysql://root:hunter2@db/ir'), (e: Error) => /scheme "mysql:"/.test(e.message) && !e.message.includes('hunter2'));
  });

  it('never logs a PostgreSQL password', () => {
    assert.equal(describeLocation({ dialect: 'postgres', url: 'postgres://ir:s3cret@db.example:5432/ir' }), 'postgres://ir:***@db.example:5432/ir');
  });

  it('creates the SQLite file and its directory, in WAL mode, migrated', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'ir.sqlite');
    const store = await openStore(`sqlite:${file}`);
    try {
      assert.ok((await stat(file)).isFile());
      assert.equal(await store.getState('nothing'), undefined);
      assert.ok((await stat(`${file}-wal`)).isFile());
    } finally {
      await store.close();
    }
  });

  it('works in memory', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await store.setState('k', 'v');
      assert.equal(await store.getState('k'), 'v');
    } finally {
      await store.close();
    }
  });
});
