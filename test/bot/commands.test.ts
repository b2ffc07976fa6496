import assert from 'node:assert/strict';
import { parseCommand, stripMentions, helpText, COMMANDS } from '../../src/bot/commands';

describe('@ir commands', () => {
  it('strips the mention and is case-insensitive', () => {
    assert.equal(stripMentions('<at>ir</at>&nbsp;STATUS'), 'STATUS');
    assert.deepEqual(parseCommand('<at>ir</at> STATUS'), { kind: 'status' });
    assert.deepEqual(parseCommand('status ir-20261127-7k3q'), { kind: 'status', incidentId: 'IR-20261127-7K3Q' });
    assert.deepEqual(parseCommand('  Incidents '), { kind: 'incidents' });
  });

  it('parses the incident commands with their arguments', () => {
    assert.deepEqual(parseCommand('approve IR-20261127-7K3Q entra-contain'), { kind: 'approve', incidentId: 'IR-20261127-7K3Q', stepId: 'entra-contain', reason: undefined });
    assert.deepEqual(parseCommand('reject IR-20261127-7K3Q entra-contain user is travelling'), { kind: 'reject', incidentId: 'IR-20261127-7K3Q', stepId: 'entra-contain', reason: 'user is travelling' });
    assert.deepEqual(parseCommand('contain Adele.Vance@contoso.com contoso'), { kind: 'contain', upn: 'Adele.Vance@contoso.com', customer: 'contoso' });
    assert.deepEqual(parseCommand('close IR-20261127-7K3Q false positive'), { kind: 'close', incidentId: 'IR-20261127-7K3Q', reason: 'false positive' });
    assert.deepEqual(parseCommand('handoff'), { kind: 'handoff' });
  });

  it('answers unknown or malformed commands with a problem, never a guess', () => {
    assert.equal(parseCommand('dance').kind, 'unknown');
    const r = parseCommand('reject IR-20261127-7K3Q entra-contain');
    assert.equal(r.kind, 'unknown');
    assert.match((r as { problem: string }).problem, /needs a reason/);
    assert.match((parseCommand('status ../../etc') as { problem: string }).problem, /not an incident id/);
    assert.match((parseCommand('approve IR-20261127-7K3Q step;rm') as { problem: string }).problem, /step id/);
  });

  it('help lists every command', () => {
    const h = helpText('ir');
    for (const c of COMMANDS) assert.ok(h.includes(`@ir ${c.name}`), c.name);
  });
});
