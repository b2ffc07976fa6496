import { strict as assert } from 'node:assert';
import { actionIdOf, INCIDENT_ID, newIncidentId, parseIncidentId, stepIdOf } from '../../src/domain/incident-id';

describe('incident and action ids', () => {
  it('an incident id carries its UTC day and reads back through parseIncidentId', () => {
    const id = newIncidentId(new Date('2026-11-27T23:59:00Z'));
    assert.match(id, INCIDENT_ID);
    assert.ok(id.startsWith('IR-20261127-'));
    assert.equal(parseIncidentId(` ${id.toLowerCase()} `), id);
    assert.equal(parseIncidentId('IR-20261127-7K3I'), undefined, 'I is not in the alphabet (read aloud it looks like 1)');
  });

  it('an action id is the incident and the step, and the step reads back from it', () => {
    const a = actionIdOf('IR-20261127-7K3Q', 'entra-contain');
    assert.equal(a, 'IR-20261127-7K3Q:entra-contain');
    assert.equal(stepIdOf(a), 'entra-contain');
    assert.equal(stepIdOf('no-colon'), 'no-colon');
  });
});
