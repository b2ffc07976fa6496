import assert from 'node:assert/strict';
import pino from 'pino';
import { AccessControl, MembershipUnconfirmed } from '../../src/operations/access-control';
import { ALEX, MEGAN, testCustomer } from '../support/engine-fixtures';

/**
 * Roles from Graph group membership: what a person sees is read through the per-replica cache,
 * what changes something asks Graph now (memberOfNow, the engine's port, isAdmin). The lookup here
 * is a directory the test edits (who is in which group) and that counts the questions it is asked.
 */
const APPROVERS_GROUP = '11111111-2222-4333-8444-555555555555';
const READERS_GROUP = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const ADMIN = '00000000-0000-4000-8000-000000000099';
const silent = pino({ level: 'silent' });

class Directory {
  members = new Map<string, Set<string>>();
  asked: string[] = [];
  /** the next lookups fail (Graph throttled or down) until set back to undefined */
  failing: Error | undefined;

  lookup = async (objectId: string, groupIds: readonly string[]): Promise<string[]> => {
    this.asked.push(objectId);
    if (this.failing) throw this.failing;
    const mine = this.members.get(objectId) ?? new Set();
    // Graph answers with the subset of the ids asked about, in its own casing
    return groupIds.filter((g) => mine.has(g.toLowerCase())).map((g) => g.toUpperCase());
  };
  put(objectId: string, ...groups: string[]): void {
    this.members.set(objectId, new Set(groups));
  }
}

describe('AccessControl: cached reads, fresh checks for what changes something', () => {
  const customer = testCustomer({
    approvers: { objectIds: [ALEX.aadObjectId], groupIds: [APPROVERS_GROUP], twoPersonSteps: [] },
    readers: { objectIds: [], groupIds: [READERS_GROUP] },
  });
  let dir: Directory;
  let clock: number;
  const access = (over: { ttlMs?: number } = {}) => new AccessControl({
    customers: [customer], memberGroups: dir.lookup, admins: [ADMIN], log: silent, now: () => clock, ...over,
  });

  beforeEach(() => {
    dir = new Directory();
    clock = 1_000_000;
  });

  it('reads are cached per person for the TTL, then asked again', async () => {
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    const a = access({ ttlMs: 60_000 });
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');
    assert.equal((await a.roles(MEGAN.aadObjectId.toUpperCase())).get(customer.id), 'approver');
    assert.equal(dir.asked.length, 1, 'one Graph lookup for two reads');
    dir.put(MEGAN.aadObjectId);
    clock += 59_999;
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver', 'within the TTL the removal is not seen by a read');
    assert.equal(dir.asked.length, 1);
    clock += 1;
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), undefined);
    assert.equal(dir.asked.length, 2);
  });

  it('memberOfNow asks Graph every time, and its answer refreshes the cache the reads use', async () => {
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    const a = access();
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');
    assert.equal(dir.asked.length, 1);
    // removed from the approvers' group, still in the readers' group
    dir.put(MEGAN.aadObjectId, READERS_GROUP);
    assert.deepEqual([...await a.memberOfNow(MEGAN.aadObjectId)], [READERS_GROUP]);
    assert.equal(dir.asked.length, 2, 'asked although the cache was warm');
    assert.deepEqual([...await a.memberOfNow(MEGAN.aadObjectId)], [READERS_GROUP]);
    assert.equal(dir.asked.length, 3, 'asked again: never from the cache');
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'reader', 'the read sees the fresh answer');
    assert.equal(dir.asked.length, 3, 'without asking Graph');
  });

  it('a fresh lookup Graph does not answer rejects, and leaves the cache as it was', async () => {
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    const a = access();
    await a.roles(MEGAN.aadObjectId);
    dir.failing = new Error('graph.checkMemberGroups: HTTP 429 Too Many Requests');
    await assert.rejects(a.memberOfNow(MEGAN.aadObjectId), (e: unknown) => e instanceof MembershipUnconfirmed && (e as Error).cause === dir.failing);
    await assert.rejects(a.rolesNow(MEGAN.aadObjectId), MembershipUnconfirmed);
    await assert.rejects(a.groupMembership().memberOfNow(MEGAN.aadObjectId, [APPROVERS_GROUP]), MembershipUnconfirmed);
    assert.equal(dir.asked.length, 4);
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver', 'reads go on from the cache');
    assert.equal(dir.asked.length, 4);
  });

  it('a cached lookup that fails counts as no group and is not kept', async () => {
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    dir.failing = new Error('graph down');
    const a = access();
    assert.equal((await a.roles(MEGAN.aadObjectId)).size, 0);
    dir.failing = undefined;
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');
    assert.equal(dir.asked.length, 2);
  });

  it('a cached lookup failing after a fresh answer came does not throw that answer away', async () => {
    dir.put(MEGAN.aadObjectId, READERS_GROUP);
    let fail!: (e: Error) => void;
    let calls = 0;
    const a = new AccessControl({
      customers: [customer], log: silent, now: () => clock,
      // the first (cached) lookup hangs until the test fails it; the next ones answer
      memberGroups: (id, groups) => (++calls === 1 ? new Promise<string[]>((_, reject) => { fail = reject; }) : dir.lookup(id, groups)),
    });
    const read = a.roles(MEGAN.aadObjectId);
    clock += 10;
    assert.deepEqual([...await a.memberOfNow(MEGAN.aadObjectId)], [READERS_GROUP]);
    fail(new Error('graph timeout'));
    assert.equal((await read).size, 0, 'the read that waited on the failed lookup gets no role');
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'reader', 'the fresh answer stays cached');
    assert.equal(calls, 2);
  });

  it('the engine\'s port answers which of the asked groups the person is in, asked now', async () => {
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP, READERS_GROUP);
    const port = access().groupMembership();
    assert.deepEqual([...await port.memberOfNow(MEGAN.aadObjectId, [APPROVERS_GROUP.toUpperCase()])], [APPROVERS_GROUP]);
    dir.put(MEGAN.aadObjectId, READERS_GROUP);
    assert.deepEqual([...await port.memberOfNow(MEGAN.aadObjectId, [APPROVERS_GROUP])], []);
    assert.equal(dir.asked.length, 2);
  });

  it('no Graph call for what cannot be in a group: a non-GUID id, or no groups configured', async () => {
    const a = access();
    assert.equal((await a.memberOfNow('not-a-guid')).size, 0);
    assert.equal((await a.roles('not-a-guid')).size, 0);
    const byIdOnly = new AccessControl({ customers: [testCustomer()], memberGroups: dir.lookup, log: silent });
    assert.equal((await byIdOnly.rolesNow(ALEX.aadObjectId)).get(customer.id), 'approver');
    assert.equal((await byIdOnly.memberOfNow(MEGAN.aadObjectId)).size, 0);
    assert.deepEqual(dir.asked, []);
  });

  it('isAdmin (pinning the channel): listed admins and object-id approvers without Graph; group approvers asked now', async () => {
    const a = access();
    assert.equal(await a.isAdmin(ADMIN), true);
    assert.equal(await a.isAdmin(ALEX.aadObjectId), true);
    assert.deepEqual(dir.asked, [], 'no Graph call for either');

    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    assert.equal((await a.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');
    dir.put(MEGAN.aadObjectId, READERS_GROUP);
    assert.equal(await a.isAdmin(MEGAN.aadObjectId), false, 'the warm cache does not make her an approver');
    dir.put(MEGAN.aadObjectId, APPROVERS_GROUP);
    dir.failing = new Error('graph down');
    assert.equal(await a.isAdmin(MEGAN.aadObjectId), false, 'Graph not answering: no');
    dir.failing = undefined;
    assert.equal(await a.isAdmin(MEGAN.aadObjectId), true);
    assert.equal(dir.asked.length, 4);
  });
});
