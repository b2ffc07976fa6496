import assert from 'node:assert/strict';
import { SshSession } from '../../../src/connectors/ssh';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { parseIkeGateways, parseSslVpnMonitor } from '../../../src/connectors/fortigate/fortios-parse';
import { FortiGateDriver } from '../../../src/connectors/fortigate/fortigate-driver';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { startCliSshServer, type CliInterpreter, type CliSshServer } from '../../../src/sandbox/ssh-cli-server';
import { FW_USER, firewallConfig, fwSecrets } from '../firewall/helpers';

const secrets = new EnvFileSecretStore({ P: FW_USER.password });
const open = (srv: { port: number; hostKeySha256: string }, timeoutMs = 5000) => SshSession.open({
  target: { host: '127.0.0.1', port: srv.port, username: FW_USER.username, passwordRef: 'env:P', hostKeySha256: srv.hostKeySha256, timeoutMs },
  secrets,
});

const DISCLAIMER = 'This system is for authorised use by Contoso staff only.\nActivity is logged.';

describe('CliShell: login disclaimer, pager, unknown prompts', function () {
  this.timeout(20_000);
  let emu: FortiOsEmulator | undefined;
  let srv: CliSshServer | undefined;
  afterEach(async () => { await emu?.close(); await srv?.close(); emu = undefined; srv = undefined; });

  it("accepts FortiOS's post-login disclaimer once with the key `a`, then works at the prompt", async () => {
    emu = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: { ...contosoFortiGateState(), postLoginBanner: DISCLAIMER } });
    const s = await open(emu);
    try {
      const cli = await s.cli();
      assert.equal(cli.currentPrompt, 'FGT-CONTOSO # ');
      assert.match(await cli.send('get vpn ssl monitor'), /adele\.vance/);
      assert.deepEqual(emu.received, ['<key "a">', 'get vpn ssl monitor'], 'one `a`, no newline, then the command');
    } finally { s.close(); }
  });

  it('a disclaimer shown again after it was accepted is refused and the session closed', async () => {
    let shown = 0;
    srv = await startCliSshServer({
      users: [FW_USER],
      newSession: (): CliInterpreter => ({
        greeting: () => `${DISCLAIMER}\n(Press 'a' to accept):`,
        awaitingKey: () => true,
        key: () => { shown++; return { output: `\n${DISCLAIMER}\n(Press 'a' to accept):` }; },
        handle: () => ({ output: '' }),
        prompt: () => 'FGT # ',
      }),
    });
    const s = await open(srv, 1500);
    try {
      await assert.rejects(s.cli(), /showed its login disclaimer again after it was accepted; not logging in/);
      assert.equal(shown, 1, 'accepted exactly once');
    } finally { s.close(); }
  });

  it('a banner that never ends, or a prompt it does not know, is a clear error and the channel is closed', async () => {
    srv = await startCliSshServer({
      users: [FW_USER],
      newSession: (): CliInterpreter => ({
        greeting: () => 'Press any key to continue, or wait forever...',
        handle: () => ({ output: '' }),
        prompt: () => '',
      }),
    });
    const s = await open(srv, 800);
    try {
      await assert.rejects(s.cli(), (e: Error) => {
        assert.match(e.message, /no prompt from 127\.0\.0\.1:\d+ within 800 ms waiting for the first prompt; last output: "Press any key to continue, or wait forever\.\.\.": a prompt or banner the bot does not know \(or a banner that never ends\); the session was closed/);
        return true;
      });
      // nothing was typed into the unknown prompt
      assert.deepEqual(srv.received, []);
    } finally { s.close(); }
  });

  it('the FortiGate driver logs in through the disclaimer', async () => {
    emu = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: { ...contosoFortiGateState(), postLoginBanner: DISCLAIMER } });
    const driver = new FortiGateDriver(firewallConfig('fortigate', emu), { secrets: fwSecrets });
    try {
      const r = await driver.listVpnSessions('adele.vance');
      assert.equal(r.sessions.length, 3);
    } finally { await driver.close(); }
  });

  it('answers --More-- with a space and strips it: a table paged in the middle parses like the whole one', async () => {
    const state = contosoFortiGateState();
    for (let i = 2; i < 30; i++) state.sslvpn.tunnels.push({ index: i, user: `user${i}`, group: 'SSLVPN-Users', sourceIp: `192.0.2.${i}`, duration: i, bytesIn: i, bytesOut: i, tunnelIp: `10.212.134.${i}` });
    for (let i = 2; i < 6; i++) state.ipsec.dialup.push({ ...state.ipsec.dialup[0], name: `FCT-Dialup_${i}`, user: `user${i}`, cookies: `${i}d01eaf19d732e02/4b0d2cd61ab79746` });
    emu = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: { ...state, pageLines: 7 } });
    const s = await open(emu);
    try {
      const cli = await s.cli();
      const paged = await cli.send('get vpn ssl monitor');
      const ike = await cli.send('diagnose vpn ike gateway list');
      assert.doesNotMatch(paged + ike, /--More--|\r/);
      await cli.send('config system console');
      await cli.send('set output standard');
      await cli.send('end');
      const whole = await cli.send('get vpn ssl monitor');
      assert.equal(paged, whole, 'byte for byte the unpaged output');
      assert.equal(parseSslVpnMonitor(paged, 'f').length, 2 + 1 + 28, 'two web logins, adele\'s tunnel and the 28 added');
      assert.equal(ike, await cli.send('diagnose vpn ike gateway list'));
      assert.equal(parseIkeGateways(ike).length, 6);
      assert.equal(cli.currentPrompt, 'FGT-CONTOSO # ');
    } finally { s.close(); }
  });
});
