import assert from 'node:assert/strict';
import https from 'node:https';
import { startPanOsApiEmulator, type PanOsApiEmulator } from '../../../src/sandbox/panos/panos-api';
import { contosoPanOsState } from '../../../src/sandbox/panos/panos-emulator';

function post(emu: PanOsApiEmulator, form: Record<string, string>, key?: string): Promise<{ status: number; body: string }> {
  const data = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(`${emu.url}/api/`, { method: 'POST', ca: emu.tls.caPem, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(key ? { 'X-PAN-KEY': key } : {}) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('PAN-OS XML API emulator', () => {
  let emu: PanOsApiEmulator;
  beforeEach(async () => { emu = await startPanOsApiEmulator({ state: contosoPanOsState(), keys: { k1: 'ir-bot' } }); });
  afterEach(async () => { await emu.close(); });

  it('refuses a request without a valid key, in the API error shape', async () => {
    const r = await post(emu, { type: 'op', cmd: '<show><system><info/></system></show>' });
    assert.deepEqual(r, { status: 403, body: '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>' });
  });

  it('answers an unknown command with status="error" and the offending path', async () => {
    const r = await post(emu, { type: 'op', cmd: '<show><frobnicate/></show>' }, 'k1');
    assert.equal(r.body, '<response status="error" code="17"><msg><line><![CDATA[ show -> frobnicate is unexpected]]></line></msg></response>');
  });

  it('reads the address-group from the candidate (get) and the running config (show)', async () => {
    const xpath = "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']/address-group/entry[@name='IR-Block']";
    await post(emu, { type: 'config', action: 'set', xpath: `${xpath}/static`, element: '<member>IR-x</member>' }, 'k1');
    assert.match((await post(emu, { type: 'config', action: 'get', xpath }, 'k1')).body, /<static><member>IR-placeholder<\/member><member>IR-x<\/member><\/static>/);
    assert.match((await post(emu, { type: 'config', action: 'show', xpath }, 'k1')).body, /<static><member>IR-placeholder<\/member><\/static>/);
    assert.deepEqual([...emu.state.pendingChanges.get('ir-bot')!], ['address-group:IR-Block'], 'the change is the key owner\'s');
  });
});
