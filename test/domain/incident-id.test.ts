import { strict as assert } from 'node:assert';
import { actionIdOf, INCIDENT_ID, INCIDENT_ID_DRAWS, newIncidentId, parseIncidentId, stepIdOf, withFreshIncidentId } from '../../src/domain/incident-id';
import { ConflictError, IncidentIdTakenError } from '../../src/store/errors';

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

  // Intake and @ir contain both create through withFreshIncidentId: what it does on a taken id is
  // what both do (test/intake/incident-id-collision.test.ts covers intake against both stores).
  it('a taken id is drawn again; the id that stored is the one answered', async () => {
    const drawn: string[] = [];
    const taken: number[] = [];
    const id = await withFreshIncidentId(new Date('2026-11-27T10:00:00Z'), async (incidentId) => {
      if (drawn.push(incidentId) < 3) throw new IncidentIdTakenError(`incident id ${incidentId} is already taken`);
      return incidentId;
    }, { onTaken: (attempt) => taken.push(attempt) });
    assert.equal(drawn.length, 3);
    assert.equal(id, drawn[2]);
    assert.match(id, INCIDENT_ID);
    assert.deepEqual(taken, [1, 2]);
  });

  it(`gives up after ${INCIDENT_ID_DRAWS} taken ids, and passes any other error on at once`, async () => {
    let calls = 0;
    await assert.rejects(withFreshIncidentId(new Date(), async () => { calls++; throw new IncidentIdTakenError('taken'); }, { draw: () => 'IR-20261127-7K3Q' }), IncidentIdTakenError);
    assert.equal(calls, INCIDENT_ID_DRAWS);
    calls = 0;
    await assert.rejects(withFreshIncidentId(new Date(), async () => { calls++; throw new ConflictError('subject already has an open incident'); }), /open incident/);
    assert.equal(calls, 1, 'only a taken id is drawn again');
  });
});
