import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * Reads the Playground's `.m365agentsplayground.yml` (schema 0.1.1) into a typed shape, so tests and
 * the driver can look people and channels up by name instead of repeating ids.
 */

const user = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  userPrincipleName: z.string().min(1), // sic: the Playground's own spelling
  aadObjectId: z.string().uuid(),
  givenName: z.string(),
  surname: z.string(),
  email: z.string(),
});

const playgroundConfig = z.object({
  version: z.literal('0.1.1'),
  tenantId: z.string().uuid(),
  bot: z.object({ id: z.string().min(1), name: z.string().min(1).max(42) }),
  currentUser: user,
  // The Playground itself insists on exactly five.
  users: z.array(user).length(5),
  personalChat: z.object({ id: z.string().min(1) }),
  groupChat: z.object({ id: z.string().min(1), name: z.string() }),
  team: z.object({
    id: z.string().min(1),
    name: z.string().min(1),
    aadGroupId: z.string(),
    channels: z.array(z.object({ id: z.string().min(1), name: z.string().min(1) })).max(1),
  }),
});

export type PlaygroundUser = z.infer<typeof user>;
export type PlaygroundConfig = z.infer<typeof playgroundConfig>;

/** The folder with package.json above this file: the repository, whether we run from src/ or dist/src/. */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..', '..');
  }
}

export function loadPlaygroundConfig(configDir: string = REPO_ROOT): PlaygroundConfig {
  const file = path.join(configDir, '.m365agentsplayground.yml');
  const parsed = playgroundConfig.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Invalid Playground config ${file}: ${issues}`);
  }
  return parsed.data;
}

/** Everyone the Playground knows, signed-in user first. */
export function playgroundPeople(cfg: PlaygroundConfig): PlaygroundUser[] {
  return [cfg.currentUser, ...cfg.users];
}

export function findPlaygroundUser(cfg: PlaygroundConfig, name: string): PlaygroundUser {
  const u = playgroundPeople(cfg).find((p) => p.name === name);
  if (!u) throw new Error(`No Playground user named ${JSON.stringify(name)}; known: ${playgroundPeople(cfg).map((p) => p.name).join(', ')}`);
  return u;
}

/** Channel id by display name; `General` is the team's own id. */
export function findPlaygroundChannel(cfg: PlaygroundConfig, name: string): string {
  if (name === 'General') return cfg.team.id;
  const c = cfg.team.channels.find((ch) => ch.name === name);
  if (!c) throw new Error(`No Playground channel named ${JSON.stringify(name)} in team ${cfg.team.name}`);
  return c.id;
}
