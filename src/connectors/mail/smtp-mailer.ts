import type { Mailer, MailerDeps } from './mailer';
import type { OutgoingMail } from './message';
import { sendMailViaSmtp, type SmtpMailConfig } from './smtp';

/** The customer's own SMTP relay. */
export class SmtpMailer implements Mailer {
  readonly via = 'smtp';
  constructor(private readonly config: SmtpMailConfig, private readonly deps: MailerDeps) {}

  describe(): string {
    return `SMTP ${this.config.host}`;
  }

  problems(): string[] {
    return [];
  }

  async send(message: OutgoingMail, opts: { now: () => Date }) {
    const r = await sendMailViaSmtp(this.config, message, this.deps.secrets, { now: opts.now });
    return { raw: [r.raw], messageId: r.messageId };
  }
}
