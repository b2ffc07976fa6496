import { ConnectorError } from '../types';
import { CliSwitchDriver, type SwitchCliRun } from './cli-switch-driver';
import type { PortFacts, SwitchDriver } from './driver';
import { parseIosAuthSessions, parseIosCdpDetail, parseIosInterfaceStatus, parseIosLog, parseIosMacTable } from './ios-parse';
import { switchErrorLines } from './cli-output';
import { formatMac, parseSwitchPort, type Mac, type SwitchPort } from './switch-values';

/** Cisco IOS / IOS-XE access switch over SSH. */
export class IosSwitchDriver extends CliSwitchDriver implements SwitchDriver {
  protected readonly pagerOff = 'terminal length 0';

  /** Rebuilds the port name from the grammar right before it goes into a line. */
  private name(port: SwitchPort): string {
    return parseSwitchPort('cisco-ios', port.full, 'port').full;
  }

  async portFacts(port: SwitchPort, mac: Mac) {
    const p = parseSwitchPort('cisco-ios', port.full, 'port');
    const m = formatMac('cisco-ios', mac);
    const { value, transcript } = await this.withCli(`port facts ${p.short} / ${m}`, async (run) => {
      const notes: string[] = [];
      const sessions = parseIosAuthSessions(await run(`show authentication sessions interface ${p.full} details`));
      const macEntries = parseIosMacTable(await run(`show mac address-table address ${m}`));
      const status = parseIosInterfaceStatus(await run(`show interfaces ${p.full} status`))[0];
      // IOS `include` takes a regex; `?` would open the help, so the alternation is spelt out.
      const log = parseIosLog(await run(`show logging | include (${this.typeName(p)}|${this.typeShort(p)})${this.numbers(p)}([^0-9]|$)`), p.full);
      const neighbors = await this.probeCdp(run, p, notes);
      const facts: PortFacts = { switchId: this.config.id, port: p, mac: m, sessions, macEntries, status, log, neighbors, notes };
      return facts;
    });
    return { facts: value, transcript };
  }

  private typeName(p: SwitchPort): string { return p.full.replace(/[\d/]+$/, ''); }
  private typeShort(p: SwitchPort): string { return p.short.replace(/[\d/]+$/, ''); }
  private numbers(p: SwitchPort): string { return /[\d/]+$/.exec(p.full)![0]; }

  /** CDP may be off on the switch or the port: that is a fact about the port, not a failure. */
  private async probeCdp(run: SwitchCliRun, p: SwitchPort, notes: string[]) {
    const out = await run(`show cdp neighbors ${p.full} detail`, { probe: true });
    const errors = switchErrorLines(out);
    if (errors.length || /CDP is not enabled/i.test(out)) {
      notes.push(`CDP neighbours not available: ${(errors[0] ?? out.trim().split('\n')[0]).slice(0, 120)}`);
      return [];
    }
    return parseIosCdpDetail(out);
  }

  async isShut(port: SwitchPort) {
    const name = this.name(port);
    const { value, transcript } = await this.withCli(`status of ${port.short}`, async (run) => {
      const s = parseIosInterfaceStatus(await run(`show interfaces ${name} status`))[0];
      if (!s) throw new ConnectorError(`${this.device} printed no status row for ${name}`);
      return s.status === 'disabled';
    });
    return { shut: value, transcript };
  }

  shutPort(port: SwitchPort) { return this.setShutdown(port, true); }
  noShutPort(port: SwitchPort) { return this.setShutdown(port, false); }

  private async setShutdown(port: SwitchPort, shut: boolean) {
    const name = this.name(port);
    const { value, transcript } = await this.withCli(`${shut ? 'shutdown' : 'no shutdown'} ${port.short}`, async (run) => {
      const before = parseIosInterfaceStatus(await run(`show interfaces ${name} status`))[0];
      if (!before) throw new ConnectorError(`${this.device} printed no status row for ${name}`);
      if ((before.status === 'disabled') === shut) return false;
      await run('configure terminal');
      await run(`interface ${name}`);
      await run(shut ? 'shutdown' : 'no shutdown');
      await run('end');
      const after = parseIosInterfaceStatus(await run(`show interfaces ${name} status`))[0];
      if (!after || (after.status === 'disabled') !== shut) {
        throw new ConnectorError(`${this.device} still shows ${name} as ${after?.status ?? 'unknown'} after ${shut ? 'shutdown' : 'no shutdown'}`);
      }
      return true;
    });
    return { changed: value, transcript };
  }
}
