import type { Severity } from '../domain/alert';

/**
 * The order of new threads waiting for the IR channel's Teams slots. Teams allows a bot 60 posts per
 * 30 s in one channel, shared by every replica, so in a storm of 500 incidents the last card comes
 * minutes after the first; the analyst should see the high-severity incidents first, and the shift
 * handoff (the incoming analyst's brief) before any of them. Equal priorities keep their order.
 */
export const HANDOFF_THREAD_PRIORITY = 10;

const BY_SEVERITY: Record<Severity, number> = { high: 4, medium: 3, low: 2, informational: 1, unknown: 2 };

export function threadPriority(severity: Severity | string | undefined): number {
  return BY_SEVERITY[severity as Severity] ?? 2;
}
