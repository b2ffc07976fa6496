import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { PlaygroundStartError, startPlayground } from '../../../src/sandbox/playground/launcher';
import { findPlaygroundChannel, findPlaygroundUser, loadPlaygroundConfig, REPO_ROOT } from '../../../src/sandbox/playground/config';
import { MSP, PLAYGROUND_USERS } from '../../../src/sandbox/contoso';

describe('Agents Playground launcher', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'playground-cfg-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the repo config names the MSP tenant, the bot @ir, Alex, Megan and the sec-ir channel', () => {
    const cfg = loadPlaygroundConfig();
    assert.equal(cfg.tenantId, MSP.tenantId);
    assert.equal(cfg.bot.name, 'ir');
    assert.equal(cfg.currentUser.aadObjectId, PLAYGROUND_USERS.alex.aadObjectId);
    assert.equal(findPlaygroundUser(cfg, 'Megan Bowen').aadObjectId, PLAYGROUND_USERS.megan.aadObjectId);
    assert.equal(findPlaygroundUser(cfg, 'Adele Vance').aadObjectId, PLAYGROUND_USERS.adele.aadObjectId);
    assert.equal(findPlaygroundChannel(cfg, 'sec-ir'), '19:sec-ir@thread.tacv2');
    assert.equal(findPlaygroundChannel(cfg, 'General'), cfg.team.id);
  });

  it('starts on a free port, serves the UI, and stops on close', async () => {
    const pg = await startPlayground({ botEndpoint: 'http://localhost:9/api/messages', port: 0 });
    assert.notEqual(pg.port, 56150);
    assert.equal(pg.serviceUrl, `http://localhost:${pg.port}/_connector`);
    const res = await fetch(pg.url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
    await pg.close();
    await assert.rejects(fetch(pg.url), 'nothing listens after close');
  });

  it('surfaces the Playground\'s own schema error instead of a silent exit 1', async () => {
    const cfg = parse(await readFile(path.join(REPO_ROOT, '.m365agentsplayground.yml'), 'utf8'));
    cfg.users = cfg.users.slice(0, 4);
    await writeFile(path.join(dir, '.m365agentsplayground.yml'), stringify(cfg));
    await assert.rejects(
      startPlayground({ botEndpoint: 'http://localhost:9/api/messages', port: 0, configDir: dir }),
      (err: unknown) => {
        assert.ok(err instanceof PlaygroundStartError);
        assert.match(err.message, /YAML path "\/users": must NOT have fewer than 5 items/);
        return true;
      },
    );
  });

  it('rejects a bot endpoint that is not an http(s) URL before spawning anything', async () => {
    await assert.rejects(startPlayground({ botEndpoint: 'file:///etc/passwd' }), PlaygroundStartError);
    await assert.rejects(startPlayground({ botEndpoint: 'not a url' }), PlaygroundStartError);
  });
});
