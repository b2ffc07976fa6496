import type { RadiusConfig } from '../../../config/customers';
import type { SecretStore } from '../../../config/secrets';
import type { Logger } from '../../../log';
import { ConnectorError, type RawPayload } from '../../types';
import type { RadiusString } from '../radius-string';
import { openSshShell, type OpenRemoteShell } from '../remote-shell';
import type { AccountingReport } from './accounting-session';
import { readDetailAccounting, localDetailSource, type DetailSource } from './detail-accounting';
import { sshDetailSource } from './ssh-detail-source';
import { readSqlAccounting } from './sql-accounting';

export interface AccountingDeps {
  secrets: SecretStore;
  log?: Logger;
  now?: () => Date;
  openShell?: OpenRemoteShell;
  /** replaces the configured detail source (the sandbox reads its files locally) */
  detailSource?: DetailSource;
}

export const MAX_HOURS = 24 * 31;

/** The user's sessions active now or within the last `hours`, from the store the customer configured. */
export async function readAccounting(
  config: RadiusConfig,
  user: RadiusString,
  hours: number,
  deps: AccountingDeps,
): Promise<{ report: AccountingReport; raw: RawPayload[] }> {
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_HOURS) throw new ConnectorError(`hours must be between 0 and ${MAX_HOURS}`);
  const now = deps.now ?? (() => new Date());
  const to = now();
  const window = { from: new Date(to.getTime() - hours * 3_600_000), to };
  const acc = config.accounting;
  if (deps.detailSource) return readDetailAccounting(deps.detailSource, user, window, now);
  if (acc.kind === 'detail-local') return readDetailAccounting(localDetailSource(acc.directory), user, window, now);
  if (acc.kind === 'sql') {
    return readSqlAccounting({ connectionString: deps.secrets.get(acc.urlRef), table: acc.table }, user, window, now);
  }
  const open = deps.openShell ?? openSshShell;
  const shell = await open(acc.ssh, deps.secrets, deps.log);
  try {
    return await readDetailAccounting(sshDetailSource(shell, acc.directory), user, window, now);
  } finally {
    shell.close();
  }
}
