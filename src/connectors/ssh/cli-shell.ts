import type { ClientChannel } from 'ssh2';
import { ConnectorError } from '../types';

/**
 * The prompts of the network-device CLIs we drive, at the very end of the output:
 * FortiOS `FGT-NAME # `, `FGT-NAME (address) # `, `FGT-NAME (IR-203.0.113.7) # `;
 * PAN-OS `admin@PA-3220> ` (operational), `admin@PA-3220# ` (configure), `admin@PA-3220(active)> ` (HA).
 */
export const DEFAULT_PROMPT = /(?:^|\n)([A-Za-z0-9._@\-]+(?: ?\([^()\r\n]{1,80}\))? ?[#>$] )$/;

/**
 * FortiOS, IOS, PAN-OS and AOS-CX pagers at the end of what arrived; answered with a space so a long
 * listing arrives whole (AOS-CX's drivers send `no page` first, this covers a session where it did not take).
 */
const MORE = /(?:--More--|--more--| --More-- |lines \d+-\d+ |-- MORE --, next page: Space, next line: Enter, quit: Control-C)\s*$/;
/**
 * What a pager leaves behind once answered: FortiOS wipes `--More--` with `\r<spaces>\r`, IOS with
 * backspaces, `less` (PAN-OS) with an erase-line escape (already stripped with the ANSI codes); the
 * marker itself is cut from the buffer when it arrives. So a pager in the middle of a table leaves no trace.
 */
const PAGER_TRACES = /\r[ \t]+\r|\x08+ *\x08*/g;

/**
 * FortiOS's post-login disclaimer (`config system global` / `set post-login-banner enable`): the
 * text, then `(Press 'a' to accept):`, answered by the single key `a` (a newline does not dismiss it).
 */
export const DISCLAIMER = /\(Press 'a' to accept\):?\s*$/;

// Terminal control sequences a device may put around its output (colour, cursor moves).
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]/g;

/** Anything a CLI would read as a line break, an escape or a control key. */
const CONTROL = /[\x00-\x1f\x7f]/;

export interface CliShellOptions {
  prompt?: RegExp;
  /** how long one command may take before the session is declared stuck */
  commandTimeoutMs: number;
  /** the device, for error messages: `host:port` */
  label: string;
}

/** `before` is the prompt the command was typed at, `prompt` the one the device answered with */
export interface CliExchange { before: string; command: string; output: string; prompt: string }

/**
 * An interactive shell on a network device: one line in, the output up to the next prompt out.
 * Commands run strictly one after another (the CLI is modal), so `send` queues.
 */
export class CliShell {
  private buffer = '';
  private waiter: { done: (buffer: string) => boolean; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** an unfinished `\r…` at the end of the last chunk */
  private pending = '';
  private closedError: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly prompt: RegExp;
  /** the last prompt the device printed, e.g. `FGT (address) # ` */
  currentPrompt = '';
  /** every command and its output, in order: the evidence of what was done on the device */
  readonly exchanges: CliExchange[] = [];

  private constructor(private readonly channel: ClientChannel, private readonly opts: CliShellOptions) {
    this.prompt = opts.prompt ?? DEFAULT_PROMPT;
    channel.on('data', (d: Buffer) => this.onData(d));
    channel.stderr.on('data', (d: Buffer) => this.onData(d));
    channel.on('close', () => this.fail(new ConnectorError(`the CLI session to ${opts.label} was closed by the device`, { retryable: true })));
    channel.on('error', (e: Error) => this.fail(new ConnectorError(`the CLI session to ${opts.label} failed: ${e.message}`, { retryable: true, cause: e })));
  }

  /**
   * Wraps an opened shell channel and waits for the first prompt, accepting FortiOS's post-login
   * disclaimer once on the way. Anything else — a disclaimer shown again, a banner that never
   * ends, a prompt we do not know — is an error and the channel is closed: a session is either
   * at a known prompt or gone, never left half-logged-in.
   */
  static async attach(channel: ClientChannel, opts: CliShellOptions): Promise<CliShell> {
    const shell = new CliShell(channel, opts);
    try {
      let accepted = false;
      for (;;) {
        await shell.waitFor(opts.commandTimeoutMs, 'the first prompt', (b) => shell.prompt.test(b) || DISCLAIMER.test(b));
        if (shell.prompt.test(shell.buffer)) break;
        if (accepted) throw new ConnectorError(`${opts.label} showed its login disclaimer again after it was accepted; not logging in`, { source: 'ssh' });
        accepted = true;
        shell.buffer = '';
        channel.write('a');
      }
      shell.currentPrompt = shell.takePrompt();
      shell.buffer = '';
      return shell;
    } catch (e) {
      shell.close();
      if (e instanceof ConnectorError && /^no prompt from/.test(e.message)) {
        throw new ConnectorError(`${e.message}: a prompt or banner the bot does not know (or a banner that never ends); the session was closed`, { source: 'ssh' });
      }
      throw e;
    }
  }

  /**
   * Sends one line and resolves with what the device printed between the echo of that line and its
   * next prompt. Refuses any line with a control character: nothing may smuggle a second command in.
   */
  send(line: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    if (CONTROL.test(line)) {
      return Promise.reject(new ConnectorError(`refused to send a CLI line with a control character to ${this.opts.label}`));
    }
    const run = this.queue.then(() => this.exchange(line, opts.timeoutMs ?? this.opts.commandTimeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.fail(new ConnectorError(`the CLI session to ${this.opts.label} is closed`));
    this.channel.end();
  }

  private async exchange(line: string, timeoutMs: number): Promise<string> {
    if (this.closedError) throw this.closedError;
    this.buffer = '';
    this.channel.write(`${line}\n`);
    await this.waitForPrompt(timeoutMs, `the answer to "${line}"`);
    const prompt = this.takePrompt();
    let text = this.buffer.slice(0, this.buffer.length - prompt.length);
    this.buffer = '';
    // The device echoes the line (pty); drop that first line.
    const nl = text.indexOf('\n');
    const first = nl < 0 ? text : text.slice(0, nl);
    if (first.trimEnd().endsWith(line.trimEnd())) text = nl < 0 ? '' : text.slice(nl + 1);
    const output = text.replace(/\n+$/, '');
    this.exchanges.push({ before: this.currentPrompt, command: line, output, prompt });
    this.currentPrompt = prompt;
    return output;
  }

  private takePrompt(): string {
    const m = this.prompt.exec(this.buffer);
    return m ? m[1] : '';
  }

  private onData(d: Buffer): void {
    // A trailing `\r` (maybe followed by the spaces of a pager wipe) waits for the next chunk:
    // split there, `\r\n` would become two line breaks and a wipe would leave a blank line.
    let text = this.pending + d.toString('utf8');
    const cut = /(?:\r[ \t]*)+$/.exec(text);
    this.pending = cut ? cut[0] : '';
    if (cut) text = text.slice(0, cut.index);
    this.buffer += text.replace(ANSI, '').replace(PAGER_TRACES, '').replace(/\r\n?/g, '\n');
    if (MORE.test(this.buffer)) {
      this.buffer = this.buffer.replace(MORE, '');
      this.channel.write(' ');
      return;
    }
    if (this.waiter && this.waiter.done(this.buffer)) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve();
    }
  }

  private waitForPrompt(timeoutMs: number, what: string): Promise<void> {
    return this.waitFor(timeoutMs, what, (b) => this.prompt.test(b));
  }

  private waitFor(timeoutMs: number, what: string, done: (buffer: string) => boolean): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (done(this.buffer)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        const tail = this.buffer.slice(-200);
        reject(new ConnectorError(`no prompt from ${this.opts.label} within ${timeoutMs} ms waiting for ${what}; last output: ${JSON.stringify(tail)}`, { retryable: true }));
      }, timeoutMs);
      this.waiter = {
        done,
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  private fail(e: Error): void {
    if (!this.closedError) this.closedError = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }
}
