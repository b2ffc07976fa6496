import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './customers';

/**
 * The SOC's shifts (SHIFTS_FILE, YAML or JSON): a time zone, the wall-clock start of each shift,
 * and who is on call in each. Shift boundaries are computed with Intl in that zone, so they stay
 * at 07:00 local across daylight-saving changes. See shifts.example.yaml.
 */

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const analystSchema = z.object({
  name: z.string().min(1).max(100),
  aadObjectId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID'),
  upn: z.string().email(),
});
export type Analyst = z.infer<typeof analystSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');

export const shiftsConfigSchema = z.object({
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Lisbon'),
  shifts: z.array(z.object({
    name: z.string().regex(/^[A-Za-z0-9 _-]{1,40}$/),
    start: hhmm,
    analyst: analystSchema,
  })).min(1),
  /** one-off replacements: this analyst covers that shift on that local date */
  overrides: z.array(z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), shift: z.string(), analyst: analystSchema })).default([]),
}).superRefine((c, ctx) => {
  const starts = new Set<string>();
  const names = new Set<string>();
  c.shifts.forEach((s, i) => {
    if (starts.has(s.start)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['shifts', i, 'start'], message: `two shifts start at ${s.start}` });
    if (names.has(s.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['shifts', i, 'name'], message: `duplicate shift name ${s.name}` });
    starts.add(s.start);
    names.add(s.name);
  });
  c.overrides.forEach((o, i) => {
    if (!names.has(o.shift)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['overrides', i, 'shift'], message: `no shift named ${o.shift}` });
  });
});
export type ShiftsConfig = z.infer<typeof shiftsConfigSchema>;

export function parseShifts(raw: unknown, source = 'shifts file'): ShiftsConfig {
  const r = shiftsConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(`${source}: key "${issue.path.join('.') || '(top level)'}": ${issue.message}`);
  }
  return r.data;
}

export function loadShiftsFile(path: string): ShiftsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the shifts file (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseShifts(raw, path);
}

// --- time-zone arithmetic with Intl -------------------------------------------------------------

interface Wall { y: number; mo: number; d: number; h: number; mi: number }

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(instant: number, tz: string): Wall {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year, mo: p.month, d: p.day, h: p.hour, mi: p.minute };
}

/** The zone's offset from UTC at an instant, in ms (seconds are ignored: no zone uses them now). */
function offsetAt(instant: number, tz: string): number {
  const w = wallClock(instant, tz);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi) - Math.floor(instant / 60_000) * 60_000;
}

/**
 * The instant a local wall-clock time happens in `tz`. In the spring-forward gap (a time that does
 * not exist) it is the instant the clocks jumped past it; in the fall-back hour, the first one.
 */
export function zonedTimeToUtc(w: Wall, tz: string): Date {
  const wall = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
  const candidates = [...new Set([offsetAt(wall - 86_400_000 / 2, tz), offsetAt(wall, tz), offsetAt(wall + 86_400_000 / 2, tz)])]
    .map((o) => wall - o)
    .filter((t) => { const x = wallClock(t, tz); return Date.UTC(x.y, x.mo - 1, x.d, x.h, x.mi) === wall; })
    .sort((a, b) => a - b);
  if (candidates.length) return new Date(candidates[0]);
  // Not a real local time (the gap): the moment after the jump has the later offset.
  return new Date(wall - offsetAt(wall - 86_400_000 / 2, tz));
}

export interface CurrentShift {
  /** stable identity of this occurrence: '2026-11-27T15:00@Europe/Lisbon' (local date and start) */
  key: string;
  name: string;
  startsAt: Date;
  /** the local wall-clock start, 'HH:MM' */
  localStart: string;
  localDate: string;
  timeZone: string;
  analyst: Analyst;
}

const pad = (n: number) => String(n).padStart(2, '0');

function occurrences(dayOffsetFrom: number, now: Date, c: ShiftsConfig): CurrentShift[] {
  const today = wallClock(now.getTime(), c.timeZone);
  const out: CurrentShift[] = [];
  for (let k = dayOffsetFrom; k <= 0; k++) {
    // Calendar arithmetic on the local date (noon avoids any DST edge).
    const day = new Date(Date.UTC(today.y, today.mo - 1, today.d + k, 12));
    const y = day.getUTCFullYear(); const mo = day.getUTCMonth() + 1; const d = day.getUTCDate();
    const localDate = `${y}-${pad(mo)}-${pad(d)}`;
    for (const s of c.shifts) {
      const [h, mi] = s.start.split(':').map(Number);
      const startsAt = zonedTimeToUtc({ y, mo, d, h, mi }, c.timeZone);
      const override = c.overrides.find((o) => o.date === localDate && o.shift === s.name);
      out.push({ key: `${localDate}T${s.start}@${c.timeZone}`, name: s.name, startsAt, localStart: s.start, localDate, timeZone: c.timeZone, analyst: override?.analyst ?? s.analyst });
    }
  }
  return out.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
}

/** The shift running at `now`: the latest shift start at or before it. */
export function currentShift(now: Date, c: ShiftsConfig): CurrentShift {
  const list = occurrences(-1, now, c).filter((o) => o.startsAt.getTime() <= now.getTime());
  return list[list.length - 1];
}

/** Shift starts in (after, upTo], oldest first: the changes a bot that was down missed. */
export function shiftStartsBetween(after: Date, upTo: Date, c: ShiftsConfig): CurrentShift[] {
  const days = Math.min(60, Math.ceil((upTo.getTime() - after.getTime()) / 86_400_000) + 1);
  return occurrences(-days, upTo, c).filter((o) => o.startsAt.getTime() > after.getTime() && o.startsAt.getTime() <= upTo.getTime());
}

/** The shift before `shift` (who hands over). */
export function previousShift(shift: CurrentShift, c: ShiftsConfig): CurrentShift {
  return currentShift(new Date(shift.startsAt.getTime() - 60_000), c);
}
