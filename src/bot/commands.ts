import { parseIncidentId } from '../intake/incident-id';

/**
 * The `@ir ...` commands, declared once: the parser, the help text and the manifest's command
 * list all come from this table.
 */
export interface CommandSpec { name: string; args: string; help: string }

export const COMMANDS: CommandSpec[] = [
  { name: 'help', args: '', help: 'this list' },
  { name: 'status', args: '[incident]', help: 'open incidents (customer, user, severity, current step, pending approvals), or one incident in full' },
  { name: 'incidents', args: '', help: 'the latest incidents, open and closed' },
  { name: 'contain', args: '<upn> [customer]', help: 'start containment for an account without an alert (same approvals)' },
  { name: 'approve', args: '<incident> <step>', help: 'approve a pending step (for clients without card buttons)' },
  { name: 'reject', args: '<incident> <step> <reason>', help: 'reject a pending step' },
  { name: 'retry', args: '<incident> <step>', help: 'ask again for an expired or failed step' },
  { name: 'cancel', args: '<incident>', help: 'stop an incident\'s procedure' },
  { name: 'report', args: '<incident>', help: 'regenerate and post the forensic report' },
  { name: 'verify', args: '<incident>', help: 'recompute the evidence hashes and the timeline chain' },
  { name: 'handoff', args: '', help: 'post the shift handoff now' },
  { name: 'close', args: '<incident> <reason>', help: 'close an incident and resolve its Defender alert' },
];

export type Command =
  | { kind: 'help' }
  | { kind: 'status'; incidentId?: string }
  | { kind: 'incidents' }
  | { kind: 'contain'; upn: string; customer?: string }
  | { kind: 'approve' | 'reject' | 'retry'; incidentId: string; stepId: string; reason?: string }
  | { kind: 'cancel' | 'report' | 'verify'; incidentId: string }
  | { kind: 'handoff' }
  | { kind: 'close'; incidentId: string; reason: string }
  | { kind: 'unknown'; text: string; problem?: string };

const STEP_ID = /^[a-z][a-z0-9-]{0,62}$/i;

/** Removes `<at>...</at>` mentions and HTML the client may wrap the text in. */
export function stripMentions(text: string): string {
  return text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function parseCommand(rawText: string): Command {
  const text = stripMentions(rawText);
  const words = text.split(' ').filter(Boolean);
  if (words[0]?.toLowerCase() === 'ir' || words[0]?.toLowerCase() === '@ir') words.shift();
  const verb = (words.shift() ?? 'help').toLowerCase();
  const needIncident = (): string | undefined => parseIncidentId(words[0] ?? '');
  const bad = (problem: string): Command => ({ kind: 'unknown', text, problem });

  switch (verb) {
    case 'help': case '?': return { kind: 'help' };
    case 'incidents': return { kind: 'incidents' };
    case 'handoff': return { kind: 'handoff' };
    case 'status': {
      if (!words.length) return { kind: 'status' };
      const id = needIncident();
      return id ? { kind: 'status', incidentId: id } : bad(`"${words[0].slice(0, 40)}" is not an incident id (like IR-20261127-7K3Q)`);
    }
    case 'contain': {
      if (!words[0]) return bad('contain needs the account: @ir contain <upn> [customer]');
      return { kind: 'contain', upn: words[0], customer: words[1]?.toLowerCase() };
    }
    case 'approve': case 'reject': case 'retry': {
      const id = needIncident();
      if (!id) return bad(`${verb} needs an incident id and a step: @ir ${verb} <incident> <step>`);
      const step = words[1];
      if (!step || !STEP_ID.test(step)) return bad(`${verb} needs the step id after the incident (see the timeline card)`);
      const reason = words.slice(2).join(' ').slice(0, 500) || undefined;
      if (verb === 'reject' && !reason) return bad('reject needs a reason: @ir reject <incident> <step> <reason>');
      return { kind: verb, incidentId: id, stepId: step.toLowerCase(), reason };
    }
    case 'cancel': case 'report': case 'verify': {
      const id = needIncident();
      return id ? { kind: verb, incidentId: id } : bad(`${verb} needs an incident id: @ir ${verb} <incident>`);
    }
    case 'close': {
      const id = needIncident();
      if (!id) return bad('close needs an incident id and a reason: @ir close <incident> <reason>');
      const reason = words.slice(1).join(' ').slice(0, 500);
      if (!reason) return bad('close needs a reason: @ir close <incident> <reason>');
      return { kind: 'close', incidentId: id, reason };
    }
    default:
      return { kind: 'unknown', text };
  }
}

export function helpText(botName: string, problem?: string): string {
  const lines = COMMANDS.map((c) => `- **@${botName} ${c.name}${c.args ? ` ${c.args}` : ''}**: ${c.help}`);
  return `${problem ? `${problem}\n\n` : ''}Commands:\n\n${lines.join('\n')}`;
}
