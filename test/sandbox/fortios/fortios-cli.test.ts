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

  it('lists dial-up instances (all or by name) and clears one by name only', () => {
    const { say, state } = session();
    assert.match(say('diagnose vpn ike gateway list'), /^\nvd: root\/0\nname: FCT-Dialup_0\nversion: 1\n[\s\S]*xauth-user: adele\.vance\n[\s\S]*name: FCT-Dialup_1\n/);
    assert.doesNotMatch(say('diagnose vpn ike gateway list name FCT-Dialup_1'), /adele/);
    assert.equal(say('diagnose vpn ike gateway clear name FCT-Dialup_0'), '');
    assert.deepEqual(state.ipsec.dialup.map((g) => g.name), ['FCT-Dialup_1']);
    assert.equal(say('diagnose vpn ike gateway frob'), "command parse error before 'frob'\nCommand fail. Return code -61");
    say('diagnose vpn ike gateway clear');
    assert.deepEqual(state.ipsec.dialup, [], 'a bare clear ends every gateway, as on a real device');
  });

  it('renumbers SSL-VPN rows after a delete', () => {
    const { say, state } = session();
    state.sslvpn.tunnels.push({ index: 1, user: 'megan.bowen', group: 'g', sourceIp: '198.51.100.23', duration: 1, bytesIn: 1, bytesOut: 1, tunnelIp: '10.212.134.201' });
    say('execute vpn sslvpn del-tunnel 0');
    assert.deepEqual(state.sslvpn.tunnels.map((t) => [t.index, t.user]), [[0, 'megan.bowen']]);
    assert.equal(say('execute vpn sslvpn del-tunnel 1'), 'Command fail. Return code -1');
  });

  it('answers the policy lookup with the first matching policy, 0 for none, and shows policies without the default deny action', () => {
    const { say } = session();
    assert.equal(say('diagnose firewall iprope lookup 203.0.113.7 0 198.51.100.1 443 tcp wan1'), '<src [203.0.113.7-0] dst [198.51.100.1-443] proto tcp dev wan1> matches policy id: 5');
    assert.equal(say('diagnose firewall iprope lookup 203.0.113.7 0 198.51.100.1 22 tcp wan1'), '<src [203.0.113.7-0] dst [198.51.100.1-22] proto tcp dev wan1> matches policy id: 0');
    assert.match(say('diagnose firewall iprope lookup 203.0.113.7 0 198.51.100.1 443 tcp port99'), /value parse error before 'port99'/);
    assert.match(say('diagnose firewall iprope lookup 203.0.113.7; 0 198.51.100.1 443 tcp wan1'), /value parse error/);
    assert.match(say('show firewall policy 5'), /^config firewall policy\n    edit 5\n        set name "WAN-to-DMZ-HTTPS"\n[\s\S]*set action accept\n[\s\S]*\nend$/);
    assert.doesNotMatch(say('show firewall policy 1'), /set action/);
  });

  it('shows the post-login disclaimer and hangs up on any key but `a`', () => {
    const state = { ...contosoFortiGateState(), postLoginBanner: 'Authorised use only.' };
    const cli = new FortiOsCli(state);
    assert.equal(cli.greeting(), "Authorised use only.\n(Press 'a' to accept):");
    assert.equal(cli.awaitingKey(), true);
    assert.deepEqual(cli.key('y'), { output: '', hangUp: true });
    const ok = new FortiOsCli(state);
    ok.key('a');
    assert.equal(ok.awaitingKey(), false);
  });
});
