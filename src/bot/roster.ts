import type { Store } from '../store/store';

/** Teams ids (MRIs, `29:…`) and names of the people seen, by Entra object id: who `refresh.userIds` lists. */
export interface RosterEntry { mri: string; name: string }

export const ROSTER_KEY = 'teams:roster';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class Roster {
  constructor(private readonly store: Store) {}

  // Read each time: another instance of the bot may have added people.
  async all(): Promise<Record<string, RosterEntry>> {
    return ((await this.store.getRef(ROSTER_KEY)) as Record<string, RosterEntry> | undefined) ?? {};
  }

  /** Records people (from the team's member list or an activity); writes only when something changed. */
  async remember(people: Array<{ aadObjectId?: string; id?: string; name?: string }>): Promise<void> {
    const all = { ...(await this.all()) };
    let changed = false;
    for (const p of people) {
      const oid = p.aadObjectId?.toLowerCase();
      if (!oid || !GUID.test(oid) || !p.id || !/^(29|8):[\w:.\-@]{1,200}$/.test(p.id)) continue;
      const name = (p.name ?? '').slice(0, 100);
      if (all[oid]?.mri === p.id && all[oid]?.name === name) continue;
      all[oid] = { mri: p.id, name };
      changed = true;
    }
    if (!changed) return;
    await this.store.putRef(ROSTER_KEY, all as unknown as Record<string, unknown>);
  }
}
