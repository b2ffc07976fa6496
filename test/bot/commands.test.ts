import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCommand, stripMentions, helpText, COMMANDS, manifestCommandLists, type ParsedCommand } from '../../src/bot/commands';

const args = (p: ParsedCommand) => {
  assert.equal(p.kind, 'command', JSON.stringify(p));
  return { name: (p as { command: { name: string } }).command.name, ...(p as { args: Record<string, unknown> }).args };
};
const problem = (p: ParsedCommand) => {
  assert.equal(p.kind, 'unknown');
  return (p as { problem?: string }).problem ?? '';
};

describe('@ir commands (declared once)', () => {
  it('strips the mention and is case-insensitive', () => {
    assert.equal(stripMentions('<at>ir</at>&nbsp;STATUS'), 'STATUS');
    assert.deepEqual(args(parseCommand('<at>ir</at> STATUS')), { name: 'status', incident: undefined });
    assert.deepEqual(args(parseCommand('status ir-20261127-7k3q')), { name: 'status', incident: 'IR-20261127-7K3Q' });
    assert.deepEqual(args(parseCommand('  Incidents ')), { name: 'incidents' });
  });

  it('parses the typed arguments of each command', () => {
    assert.deepEqual(args(parseCommand('approve IR-20261127-7K3Q entra-contain')), { name: 'approve', incident: 'IR-20261127-7K3Q', step: 'entra-contain' });
    assert.deepEqual(args(parseCommand('reject IR-20261127-7K3Q entra-contain user is travelling')), { name: 'reject', incident: 'IR-20261127-7K3Q', step: 'entra-contain', reason: 'user is travelling' });
    assert.deepEqual(args(parseCommand('contain Adele.Vance@contoso.com Contoso')), { name: 'contain', upn: 'Adele.Vance@contoso.com', customer: 'contoso' });
    assert.deepEqual(args(parseCommand('close IR-20261127-7K3Q false positive')), { name: 'close', incident: 'IR-20261127-7K3Q', reason: 'false positive' });
    assert.deepEqual(args(parseCommand('handoff')), { name: 'handoff' });
    assert.deepEqual(args(parseCommand('?')), { name: 'help' });
  });

  it('answers unknown or malformed commands with a problem, never a guess', () => {
    assert.equal(parseCommand('dance').kind, 'unknown');
    assert.match(problem(parseCommand('reject IR-20261127-7K3Q entra-contain')), /reject needs .*the reason/);
    assert.match(problem(parseCommand('status ../../etc')), /not an incident id/);
    assert.match(problem(parseCommand('approve IR-20261127-7K3Q step;rm')), /not a step id/);
    assert.match(problem(parseCommand('contain adele@contoso.com "x;y"')), /not a customer id/);
  });

  it('help lists every command with its usage; approver-only ones say so', () => {
    const h = helpText('ir');
    for (const c of COMMANDS) assert.ok(h.includes(`@ir ${c.name}`), c.name);
    assert.match(h, /@ir contain <upn> \[customer\]\*\*: .*\(approvers\)/);
    assert.doesNotMatch(h, /@ir verify <incident>\*\*: [^\n]*\(approvers\)/);
  });

  it('every command declares who may run it; read commands are for readers, changes for approvers', () => {
    const role = Object.fromEntries(COMMANDS.map((c) => [c.name, c.role]));
    assert.deepEqual(role, {
      help: 'anyone', status: 'reader', incidents: 'reader', report: 'reader', verify: 'reader', handoff: 'reader',
      contain: 'approver', approve: 'approver', reject: 'approver', release: 'approver', retry: 'approver', cancel: 'approver', close: 'approver',
    });
  });

  it('manifest/manifest.json lists exactly the declared commands (npm run package writes them)', () => {
    const manifest = JSON.parse(readFileSync('manifest/manifest.json', 'utf8')) as { bots: Array<{ commandLists: unknown }> };
    assert.deepEqual(manifest.bots[0].commandLists, manifestCommandLists(), 'run `npm run package` to rewrite the manifest from src/bot/commands.ts');
    for (const c of manifestCommandLists()[0].commands) {
      assert.ok(c.title.length <= 32 && c.description.length <= 128, c.title);
      const decl = COMMANDS.find((d) => d.name === c.title)!;
      for (const a of decl.args) assert.ok(c.description.includes(a.optional ? `[${a.name}]` : `<${a.name}>`), `${c.title} shows ${a.name}`);
    }
  });
});
