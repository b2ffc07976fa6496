import { isStormSubject } from '../intake/storm';

/**
 * The incident's subject as people read it. A storm incident's subject is a key
 * (`storm:<customer>:<digest>`, unique per storm) that names no account: cards, the status list, the
 * handoff and Teams' thread summary say "alert storm" and, where known, how many accounts.
 */
export function subjectDisplay(subjectUpn: string, accounts?: number): string {
  if (!isStormSubject(subjectUpn)) return subjectUpn;
  return accounts === undefined ? 'alert storm (many accounts)' : `alert storm: ${accounts} account${accounts === 1 ? '' : 's'}`;
}
