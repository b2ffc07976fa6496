import { cloneConfig, type PanOsConfig, type PanOsState } from './panos-state';

/** An object of the candidate config an administrator changed: what `commit partial admin` selects. */
export type ChangedObject = `${'address' | 'address-group'}:${string}`;

/** Notes that `admin` changed an object of the candidate (set or delete). */
export function recordChange(state: PanOsState, admin: string, kind: 'address' | 'address-group', name: string): void {
  const mine = state.pendingChanges.get(admin) ?? new Set<ChangedObject>();
  mine.add(`${kind}:${name}`);
  state.pendingChanges.set(admin, mine);
}

export type CommitOutcome =
  | { kind: 'no-changes' }
  | { kind: 'failed'; errors: string[] }
  | { kind: 'committed' };

/**
 * Commits the candidate (all of it, or with `admin` only the objects that administrator changed)
 * after the reference validation PAN-OS does at commit time. Other administrators' changes stay
 * pending in the candidate after a partial commit, as on the device.
 */
export function commitCandidate(state: PanOsState, admin?: string): CommitOutcome {
  const { running, candidate } = state;
  let next: PanOsConfig;
  if (admin === undefined) {
    next = cloneConfig(candidate);
  } else {
    next = cloneConfig(running);
    for (const key of state.pendingChanges.get(admin) ?? []) {
      const [kind, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      const from = kind === 'address' ? candidate.address : candidate.addressGroup;
      const to = kind === 'address' ? next.address : next.addressGroup;
      const v = from.get(name);
      if (v) to.set(name, structuredClone(v) as never);
      else to.delete(name);
    }
  }
  const same = JSON.stringify([...running.address]) === JSON.stringify([...next.address])
    && JSON.stringify([...running.addressGroup]) === JSON.stringify([...next.addressGroup]);
  if (same) {
    if (admin !== undefined) state.pendingChanges.delete(admin);
    else state.pendingChanges.clear();
    return { kind: 'no-changes' };
  }
  state.commits++;
  const errors: string[] = [];
  for (const [g, v] of next.addressGroup) {
    if (!v.static.length) errors.push(`address-group -> ${g} is missing 'static'`);
    for (const m of v.static) {
      if (!next.address.has(m) && !next.addressGroup.has(m)) errors.push(`address-group -> ${g} -> static '${m}' is not a valid reference`);
    }
  }
  if (errors.length) return { kind: 'failed', errors };
  state.running = next;
  if (admin !== undefined) state.pendingChanges.delete(admin);
  else state.pendingChanges.clear();
  return { kind: 'committed' };
}
