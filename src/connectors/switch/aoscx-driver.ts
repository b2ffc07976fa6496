import { ConnectorError } from '../types';
import { CliSwitchDriver, type SwitchCliRun } from './cli-switch-driver';
import type { PortFacts, SwitchDriver } from './driver';
import { parseAoscxInterface, parseAoscxLldp, parseAoscxLog, parseAoscxMacTable, parseAoscxPortAccessClients } from './aoscx-parse';
import { switchErrorLines } from './cli-output';
import { formatMac, parseSwitchPort, type Mac, type SwitchPort } from './switch-values';

/**
 * Aruba AOS-CX (10.x) access switch over SSH. Port-access clients are read with
 * `show aaa authentication port-access interface <if> client-status` (10.04 onwards).
 */
export class AoscxSwitchDriver extends CliSwitchDriver implements SwitchDriver {
  protected readonly pagerOff = 'no page';

  private name(port: SwitchPort): string {
    return parseSwitchPort('aruba-aoscx', port.full, 'port').full;
  }

  async portFacts(port: SwitchPort, mac: Mac) {
    const p = parseSwitchPort('aruba-aoscx', port.full, 'port');
    const m = formatMac('aruba-aoscx', mac);
    const { value, transcript } = await this.withCli(`port facts ${p.short} / ${m}`, async (run) => {
      const notes: string[] = [];
      const sessions = parseAoscxPortAccessClients(await run(`show aaa authentication port-access interface ${p.full} client-status`));
      const macEntries = parseAoscxMacTable(await run(`show mac-address-table address ${m}`));
      const status = parseAoscxInterface(await run(`show interface ${p.full}`))[0];
      const log = parseAoscxLog(await run(`show logging | include ${p.full}`), p.full);
      const neighbors = await this.probeLldp(run, p, notes);
      const facts: PortFacts = { switchId: this.config.id, port: p, mac: m, sessions, macEntries, status, log, neighbors, notes };
      return facts;
    });
    return { facts: value, transcript };
  }

  private async probeLldp(run: SwitchCliRun, p: SwitchPort, notes: string[]) {
    const out = await run(`show lldp neighbor-info ${p.full}`, { probe: true });
    const errors = switchErrorLines(out);
    if (errors.length) {
      notes.push(`LLDP neighbours not available: ${errors[0].slice(0, 120)}`);
      return [];
    }
    return parseAoscxLldp(out);
  }

  async isShut(port: SwitchPort) {
    const name = this.name(port);
    const { value, transcript } = await this.withCli(`status of ${port.short}`, async (run) => {
      const s = parseAoscxInterface(await run(`show interface ${name}`))[0];
      if (!s) throw new ConnectorError(`${this.device} printed no interface block for ${name}`);
      return s.adminUp === false;
    });
    return { shut: value, transcript };
  }

  shutPort(port: SwitchPort) { return this.setShutdown(port, true); }
  noShutPort(port: SwitchPort) { return this.setShutdown(port, false); }

  private async setShutdown(port: SwitchPort, shut: boolean) {
    const name = this.name(port);
    const { value, transcript } = await this.withCli(`${shut ? 'shutdown' : 'no shutdown'} ${port.short}`, async (run) => {
      const before = parseAoscxInterface(await run(`show interface ${name}`))[0];
      if (!before) throw new ConnectorError(`${this.device} printed no interface block for ${name}`);
      if ((before.adminUp === false) === shut) return false;
      await run('configure terminal');
      await run(`interface ${name}`);
      await run(shut ? 'shutdown' : 'no shutdown');
      await run('end');
      const after = parseAoscxInterface(await run(`show interface ${name}`))[0];
      if (!after || (after.adminUp === false) !== shut) throw new ConnectorError(`${this.device} did not take ${shut ? 'shutdown' : 'no shutdown'} on ${name}`);
      return true;
    });
    return { changed: value, transcript };
  }
}
