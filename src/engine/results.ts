import type { ApprovalRecord } from '../store/store';

/** What the engine answers a person's request with (the bot words it). */
export type DecideResult = { ok: true; decided: boolean; approval: ApprovalRecord } | { ok: false; reason: string };
export type CommandResult = { ok: true; message: string } | { ok: false; reason: string };
export type StartResult = { ok: true; incidentId: string; created: boolean } | { ok: false; reason: string };
