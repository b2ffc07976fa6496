import assert from 'node:assert/strict';
import { renderEmailDraftCard } from '../../src/bot/render-evidence-cards';

type Node = Record<string, unknown>;
const all = (n: unknown, out: Node[] = []): Node[] => {
  if (Array.isArray(n)) n.forEach((x) => all(x, out));
  else if (n && typeof n === 'object') { out.push(n as Node); Object.values(n).forEach((x) => all(x, out)); }
  return out;
};

describe('evidence: email draft card', () => {
  const draft = { to: ['ciso@contoso.com'], cc: ['oncall@contoso.com'], subject: '[IR-1] Security incident contained: adele@contoso.com', body: 'Dear Nestor,\n\nWhat happened: [x](https://evil) <at>y</at>' };

  it('prefills editable inputs and sends Send/Discard through the approval verbs', () => {
    const card = renderEmailDraftCard({ approvalId: 'ap-123', incidentId: 'IR-1', customerName: 'Contoso', draft, open: true });
    const nodes = all(card);
    const input = (id: string) => nodes.find((n) => n.type === 'Input.Text' && n.id === id)!;
    assert.equal(input('subject').value, draft.subject);
    assert.equal(input('body').value, draft.body, 'an input is plain text: the draft is carried unchanged');
    assert.equal(input('body').isMultiline, true);
    assert.equal(input('recipients').value, 'ciso@contoso.com');
    assert.equal(input('cc').value, 'oncall@contoso.com');
    const actions = card.actions as Node[];
    assert.deepEqual(actions.map((a) => [a.type, a.verb, a.title, (a.data as Node).approvalId]), [
      ['Action.Execute', 'ir.approve', 'Send', 'ap-123'], ['Action.Execute', 'ir.reject', 'Discard', 'ap-123'],
    ]);
    assert.equal(card.version, '1.5');
  });

  it('once decided shows the outcome and no inputs or buttons', () => {
    const card = renderEmailDraftCard({ approvalId: 'ap-123', incidentId: 'IR-1', customerName: 'Contoso', draft, open: false, outcome: 'Sent by Alex Wilber', outcomeColor: 'Good' });
    assert.equal(all(card).filter((n) => n.type === 'Input.Text').length, 0);
    assert.deepEqual(card.actions ?? [], []);
    assert.ok(JSON.stringify(card).includes('Sent by Alex Wilber'));
  });
});
