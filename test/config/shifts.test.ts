import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/customers';
import { currentShift, loadShiftsFile, parseShifts, shiftStartsBetween, zonedTimeToUtc } from '../../src/config/shifts';
import path from 'node:path';

const alex = { name: 'Alex Wilber', aadObjectId: '00000000-0000-4000-8000-000000000020', upn: 'alexw@msp.example' };
const megan = { name: 'Megan Bowen', aadObjectId: '00000000-0000-4000-8000-000000000021', upn: 'meganb@msp.example' };
const lee = { name: 'Lee Gu', aadObjectId: '00000000-0000-4000-8000-000000000022', upn: 'leeg@msp.example' };

const lisbon = parseShifts({
  timeZone: 'Europe/Lisbon',
  shifts: [{ name: 'early', start: '07:00', analyst: alex }, { name: 'late', start: '15:00', analyst: megan }, { name: 'night', start: '23:00', analyst: lee }],
  overrides: [{ date: '2026-12-24', shift: 'late', analyst: alex }],
});

describe('config: shifts', () => {
  it('finds the running shift and its key, in local time', () => {
    const s = currentShift(new Date('2026-11-27T16:20:00Z'), lisbon); // Lisbon is UTC+0 in winter
    assert.equal(s.key, '2026-11-27T15:00@Europe/Lisbon');
    assert.equal(s.name, 'late');
    assert.equal(s.startsAt.toISOString(), '2026-11-27T15:00:00.000Z');
    assert.deepEqual(s.analyst, megan);
    // Before the first start of the day it is still last night's shift.
    assert.equal(currentShift(new Date('2026-11-28T05:00:00Z'), lisbon).key, '2026-11-27T23:00@Europe/Lisbon');
    // Exactly at the start the new shift has begun.
    assert.equal(currentShift(new Date('2026-11-28T07:00:00Z'), lisbon).key, '2026-11-28T07:00@Europe/Lisbon');
  });

  it('keeps 07:00 local across daylight-saving changes', () => {
    // Summer time (UTC+1) until 2026-10-25 02:00 local.
    assert.equal(currentShift(new Date('2026-10-24T06:30:00Z'), lisbon).startsAt.toISOString(), '2026-10-24T06:00:00.000Z');
    assert.equal(currentShift(new Date('2026-10-25T07:30:00Z'), lisbon).startsAt.toISOString(), '2026-10-25T07:00:00.000Z');
    assert.equal(currentShift(new Date('2026-10-25T06:30:00Z'), lisbon).key, '2026-10-24T23:00@Europe/Lisbon');
    // Spring forward on 2026-03-29 01:00 → 02:00.
    assert.equal(currentShift(new Date('2026-03-29T06:10:00Z'), lisbon).key, '2026-03-29T07:00@Europe/Lisbon');
    assert.equal(currentShift(new Date('2026-03-29T06:10:00Z'), lisbon).startsAt.toISOString(), '2026-03-29T06:00:00.000Z');
    // The night shift that spans the change is 7 h long in autumn (23:00 WEST → 07:00 WET) and 9 h in spring.
    const nightAutumn = shiftStartsBetween(new Date('2026-10-24T21:00:00Z'), new Date('2026-10-25T07:00:00Z'), lisbon);
    assert.deepEqual(nightAutumn.map((s) => s.startsAt.toISOString()), ['2026-10-24T22:00:00.000Z', '2026-10-25T07:00:00.000Z']);
  });

  it('maps wall times in a DST gap and overlap to a real instant', () => {
    assert.equal(zonedTimeToUtc({ y: 2026, mo: 3, d: 8, h: 2, mi: 30 }, 'America/New_York').toISOString(), '2026-03-08T07:30:00.000Z');
    assert.equal(zonedTimeToUtc({ y: 2026, mo: 11, d: 1, h: 1, mi: 30 }, 'America/New_York').toISOString(), '2026-11-01T05:30:00.000Z');
    assert.equal(zonedTimeToUtc({ y: 2026, mo: 6, d: 1, h: 9, mi: 0 }, 'Asia/Kolkata').toISOString(), '2026-06-01T03:30:00.000Z');
  });

  it('applies a one-off override', () => {
    assert.deepEqual(currentShift(new Date('2026-12-24T16:00:00Z'), lisbon).analyst, alex);
    assert.deepEqual(currentShift(new Date('2026-12-25T16:00:00Z'), lisbon).analyst, megan);
  });

  it('refuses a bad file with the key that is wrong', () => {
    assert.throws(() => parseShifts({ timeZone: 'Mars/Olympus', shifts: [{ name: 'a', start: '07:00', analyst: alex }] }), (e: unknown) => e instanceof ConfigError && /timeZone.*IANA/.test((e as Error).message));
    assert.throws(() => parseShifts({ timeZone: 'UTC', shifts: [{ name: 'a', start: '7:00', analyst: alex }] }), /shifts\.0\.start.*HH:MM/);
    assert.throws(() => parseShifts({ timeZone: 'UTC', shifts: [{ name: 'a', start: '07:00', analyst: alex }, { name: 'b', start: '07:00', analyst: megan }] }), /two shifts start at 07:00/);
    assert.throws(() => parseShifts({ timeZone: 'UTC', shifts: [{ name: 'a', start: '07:00', analyst: { ...alex, aadObjectId: 'x' } }] }), /aadObjectId.*GUID/);
  });

  it('loads the example file', () => {
    const c = loadShiftsFile(path.join(__dirname, '..', '..', 'src', 'config', 'shifts.example.yaml'));
    assert.equal(c.shifts.length, 3);
    assert.equal(c.timeZone, 'Europe/Lisbon');
  });
});
