import assert from 'node:assert/strict';
import { renderStatusCard } from '../../src/bot/render-cards';
import { renderHandoffCard } from '../../src/bot/render-evidence-cards';
import { subjectDisplay } from '../../src/domain/subject-display';
import { stormSubject } from '../../src/intake/storm';
import type { IncidentRecord } from '../../src/store/store';
import type { HandoffData } from '../../src/evidence/handoff';
import { cardText } from '../support/adaptive-card-check';

/** A storm incident's subject is a key, never an account: what people read says "alert storm". */
describe('subjectDisplay: the storm key never reads as an account', () => {
  const storm = stormSubject('contoso', '0123456789abcdef');
  const now = '2026-12-02T03:00:00.000Z';
  const inc = (subjectUpn: string): IncidentRecord => ({
    id: 'IR-20261202-AB12', customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn, subjectObjectId: null,
    severity: 'high', title: 'Password spray', status: 'open', procedure: null, createdAt: now, updatedAt: now, data: {},
  } as unknown as IncidentRecord);

  it('names a storm by what it is and leaves an account as it is', () => {
    assert.equal(subjectDisplay(storm, 30), 'alert storm: 30 accounts');
    assert.equal(subjectDisplay(storm, 1), 'alert storm: 1 account');
    assert.equal(subjectDisplay(storm), 'alert storm (many accounts)');
    assert.equal(subjectDisplay('adele.vance@contoso.com', 3), 'adele.vance@contoso.com');
  });

  it('the status card and the handoff card show "alert storm", not storm:<customer>:<key>', () => {
    const status = cardText(renderStatusCard([{ incident: inc(storm), customerName: 'Contoso', current: 'Scoping', pending: [] }, { incident: inc('adele.vance@contoso.com'), customerName: 'Contoso', current: 'Scoping', pending: [] }], 'Open incidents', new Date(now)));
    assert.ok(status.includes('alert storm (many accounts)'), status);
    assert.ok(status.includes('adele.vance@contoso.com'));
    assert.ok(!status.includes('storm:contoso'), status);
    const h: HandoffData = {
      shiftKey: 'k', shiftName: 'Night', timeZone: 'Europe/Lisbon', localStart: '08:00', localDate: '2026-12-02', startsAt: now, postedAt: now,
      late: null, mention: { name: 'Megan', aadObjectId: 'a', upn: 'a@b.c' }, outgoing: { name: 'Alex', aadObjectId: 'b' },
      incidents: [{ id: 'IR-20261202-AB12', customerName: 'Contoso', subjectUpn: storm, title: 'Password spray', severity: 'high', status: 'open', openedAt: now, pendingApprovals: [], left: [], links: { thread: null, report: null, ticket: null, ticketNumber: null } }],
      summary: '1 open incident',
    } as unknown as HandoffData;
    const handoff = cardText(renderHandoffCard(h));
    assert.ok(handoff.includes('alert storm (many accounts): Password spray'), handoff);
    assert.ok(!handoff.includes('storm:contoso'), handoff);
  });
});
