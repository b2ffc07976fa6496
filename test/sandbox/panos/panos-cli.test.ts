import assert from 'node:assert/strict';
import { PanOsCli, contosoPanOsState } from '../../../src/sandbox/panos/panos-emulator';

function session() {
  const state = contosoPanOsState();
  const cli = new PanOsCli(state, 'admin');
  const say = (line: string) => cli.handle(line).output;
  return { state, cli, say };
}

describe('PAN-OS emulator CLI', () => {
  it('switches between operational (>) and configure (#) mode', () => {
    const { cli, say } = session();
    assert.equal(cli.prompt(), 'admin@PA-3220> ');
    assert.equal(say('configure'), 'Entering configuration mode\n[edit]');
    assert.equal(cli.prompt(), 'admin@PA-3220# ');
    assert.equal(say('exit'), 'Exiting configuration mode');
    assert.equal(cli.prompt(), 'admin@PA-3220> ');
    assert.equal(cli.handle('exit').hangUp, true);
  });

  it('refuses bad syntax the way PAN-OS does', () => {
    const { say } = session();
    assert.equal(say('frobnicate'), 'Unknown command: frobnicate');
    assert.equal(say('show session all filter source 203.0.113.300'), 'Invalid syntax.');
    say('configure');
    assert.equal(say('set address IR-x ip-netmask 203.0.113.7/33'), 'Invalid syntax.\n\n[edit]');
    assert.equal(say('set address IR-x description "open quote'), 'Invalid syntax.\n\n[edit]');
    assert.equal(say('set address IR:x ip-netmask 2001:db8::1/128'), 'Invalid syntax.\n\n[edit]', 'no colon in object names');
    assert.equal(say('set address-group IR-Block static [ IR-a IR-b'), 'Invalid syntax.\n\n[edit]');
    assert.equal(say('delete address IR-placeholder'), 'Server error : Object IR-placeholder cannot be deleted because of references from:\n address-group -> IR-Block -> static\n\n[edit]');
  });

  it('keeps changes in the candidate until a commit validates them', () => {
    const { say, state } = session();
    say('configure');
    say('set address IR-1.2.3.4 ip-netmask 1.2.3.4/32');
    say('set address-group IR-Block static [ IR-1.2.3.4 IR-missing ]');
    assert.equal(state.running.address.has('IR-1.2.3.4'), false);
    const failed = say('commit');
    assert.match(failed, /Commit failed\n  address-group -> IR-Block -> static 'IR-missing' is not a valid reference/);
    assert.equal(state.running.address.has('IR-1.2.3.4'), false);
    say('delete address-group IR-Block static IR-missing');
    assert.match(say('commit'), /Configuration committed successfully/);
    assert.deepEqual(state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder', 'IR-1.2.3.4']);
    assert.match(say('commit'), /There are no changes to commit\./);
  });
});
