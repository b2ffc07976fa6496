import assert from 'node:assert/strict';
import { FortiOsCli, contosoFortiGateState, startFortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { generateHostKey } from '../../../src/sandbox/ssh-cli-server';
import { SshSession } from '../../../src/connectors/ssh';
import { EnvFileSecretStore } from '../../../src/config/secrets';

function session() {
  const state = contosoFortiGateState();
  const cli = new FortiOsCli(state);
  const say = (line: string) => cli.handle(line).output;
  return { state, cli, say };
}

describe('FortiOS emulator CLI', () => {
  it('changes prompt with the mode like the real CLI', () => {
    const { cli, say } = session();
    assert.equal(cli.prompt(), 'FGT-CONTOSO # ');
    say('config firewall address');
    assert.equal(cli.prompt(), 'FGT-CONTOSO (address) # ');
    say('edit "IR-203.0.113.7"');
    assert.equal(cli.prompt(), 'FGT-CONTOSO (IR-203.0.113.7) # ');
    say('next');
    assert.equal(cli.prompt(), 'FGT-CONTOSO (address) # ');
    say('end');
    assert.equal(cli.prompt(), 'FGT-CONTOSO # ');
  });

  it('answers bad input with the device error lines', () => {
    const { say, state } = session();
    assert.equal(say('frobnicate'), 'Unknown action 0');
    assert.equal(say('config firewall bogus'), "command parse error before 'bogus'\nCommand fail. Return code -61");
    assert.equal(say('edit "IR-1.2.3.4'), "command parse error before '\"IR-1.2.3.4'\nCommand fail. Return code -61");
    say('config firewall address');
    say('edit x');
    assert.equal(say('set subnet 203.0.113.300/32'), "value parse error before '203.0.113.300/32'\nCommand fail. Return code -8");
    assert.equal(say('set subnet 203.0.113.7/33'), "value parse error before '203.0.113.7/33'\nCommand fail. Return code -8");
    assert.equal(say('set subnet 203.0.113.7 255.0.255.0'), "value parse error before '203.0.113.7 255.0.255.0'\nCommand fail. Return code -8");
    assert.equal(say('set subnet 203.0.113.7 255.255.255.255'), '');
    say('end');
    say('config firewall addrgrp');
    say('edit "IR-Block"');
    assert.equal(say('append member "IR-ghost"'), "entry not found in datasource\n\nvalue parse error before 'IR-ghost'\nCommand fail. Return code -3");
    assert.equal(say('append member x'), '');
    say('end');
    assert.deepEqual(state.addrgrp.get('IR-Block')!.member, ['none', 'x']);
    say('config firewall address');
    assert.equal(say('delete x'), 'The entry is used by other 1 entries\nCommand fail. Return code -23');
    assert.equal(say('delete nope'), "entry not found in datasource\n\nvalue parse error before 'nope'\nCommand fail. Return code -3");
  });

  it('keeps an edit uncommitted until next/end and drops it on abort', () => {
    const { say, state } = session();
    say('config firewall address');
    say('edit tmp');
    say('set subnet 192.0.2.1/32');
    assert.equal(state.address.has('tmp'), false);
    say('abort');
    say('end');
    assert.equal(state.address.has('tmp'), false);
  });

  it('serves the Contoso story over SSH with a given host key (stable fingerprint)', async () => {
    const key = generateHostKey();
    const emu = await startFortiOsEmulator({ users: [{ username: 'ir-bot', password: 'pw' }], hostname: 'FGT-CONTOSO', hostKey: key.pem, state: contosoFortiGateState() });
    try {
      assert.equal(emu.hostKeySha256, key.sha256);
      const s = await SshSession.open({
        target: { host: '127.0.0.1', port: emu.port, username: 'ir-bot', passwordRef: 'env:P', hostKeySha256: key.sha256, timeoutMs: 5000 },
        secrets: new EnvFileSecretStore({ P: 'pw' }),
      });
      try {
        const cli = await s.cli();
        const out = await cli.send('get vpn ssl monitor');
        assert.match(out, /adele\.vance\s+SSLVPN-Users\s+203\.0\.113\.7\s+1195\s+27311\/14426\s+10\.212\.134\.200/);
        assert.match(await cli.send('diagnose sys session list'), /total session 4$/);
        assert.deepEqual(emu.received, ['get vpn ssl monitor', 'diagnose sys session list']);
      } finally { s.close(); }
    } finally { await emu.close(); }
  });
});
