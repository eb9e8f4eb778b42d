/**
 * OPC UA sessions to equipment controllers, one per endpoint and security setting, opened on first use
 * with Ampoule's application certificate. A session that fails is closed and forgotten: the next call
 * opens a fresh one, so a controller that restarts is simply reconnected to.
 */
import type { Logger } from 'pino';
import type { UnitEndpoint } from '../../domain/equipment';
import { EquipmentUnavailable } from '../errors';
import { MessageSecurityMode, OPCUAClient, SecurityPolicy, type ClientSession } from '../opcua';
import type { ApplicationPki } from '../pki';

const MODES: Record<UnitEndpoint['securityMode'], MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

interface Entry {
  client: OPCUAClient;
  session: Promise<ClientSession>;
  /** The session is established (and not lost since). */
  up: boolean;
}

type Endpoint = Pick<UnitEndpoint, 'endpointUrl' | 'securityMode' | 'securityPolicy'> & { code?: string };

export class Connections {
  private readonly entries = new Map<string, Entry>();
  /** The units reached through each connection (for the sessions-up metric, by unit). */
  private readonly unitsByKey = new Map<string, Set<string>>();
  private certificateRefused = false;

  constructor(
    private readonly pki: ApplicationPki,
    private readonly log?: Logger,
    /** How long one request may take before the outcome counts as unknown. */
    readonly timeoutMs = 10_000,
  ) {}

  /** A live session to the unit's controller. */
  async session(u: Endpoint): Promise<ClientSession> {
    const key = `${u.endpointUrl}|${u.securityMode}|${u.securityPolicy}`;
    if (u.code) {
      const units = this.unitsByKey.get(key) ?? new Set<string>();
      this.unitsByKey.set(key, units.add(u.code));
    }
    let entry = this.entries.get(key);
    if (!entry) {
      // After a refusal over certificates, see what was trusted meanwhile (`bin/ampoule trust-certificate`, another
      // process) rather than wait for the PKI folders' watchers.
      if (this.certificateRefused) {
        this.certificateRefused = false;
        await this.pki.certificateManager.reloadCertificates().catch(() => undefined);
      }
      entry = this.open(key, u);
      this.entries.set(key, entry);
    }
    try {
      return await this.within(entry.session, `connecting to ${u.endpointUrl}`);
    } catch (err) {
      await this.drop(key);
      const reason = (err as Error).message.split('\n')[0];
      const hint = connectionHint(reason);
      if (hint === CERTIFICATE_HINT) this.certificateRefused = true;
      // Not a silent retry: each failed attempt is logged, with what to do where the cause is known.
      this.log?.warn(
        { endpointUrl: u.endpointUrl, units: [...(this.unitsByKey.get(key) ?? [])], reason, ...(hint ? { hint } : {}) },
        'cannot reach the equipment controller',
      );
      throw err instanceof EquipmentUnavailable
        ? err
        : new EquipmentUnavailable(`cannot reach ${u.endpointUrl}: ${hint ?? reason}`, { cause: err });
    }
  }

  /** Runs `fn` on the unit's session; a communication failure closes the session and is transient. */
  async use<T>(u: Endpoint, what: string, fn: (s: ClientSession) => Promise<T>): Promise<T> {
    const session = await this.session(u);
    try {
      return await this.within(fn(session), what);
    } catch (err) {
      await this.drop(`${u.endpointUrl}|${u.securityMode}|${u.securityPolicy}`);
      throw err instanceof EquipmentUnavailable
        ? err
        : new EquipmentUnavailable(`${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Each unit this process has reached, and whether its session is up now. */
  sessionsByUnit(): { unit: string; up: boolean }[] {
    return [...this.unitsByKey].flatMap(([key, units]) =>
      [...units].map((unit) => ({ unit, up: this.entries.get(key)?.up ?? false })),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.drop(k)));
  }

  private open(key: string, u: Endpoint): Entry {
    const client = OPCUAClient.create({
      applicationName: 'Ampoule',
      applicationUri: this.pki.applicationUri,
      clientCertificateManager: this.pki.certificateManager,
      certificateFile: this.pki.certificateFile,
      privateKeyFile: this.pki.privateKeyFile,
      securityMode: MODES[u.securityMode],
      securityPolicy: u.securityMode === 'None' ? SecurityPolicy.None : u.securityPolicy,
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
      // Fail fast and let the caller retry: an activity retry reconciles, a hidden reconnect loop would not.
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 500 },
    });
    client.on('connection_lost', () => {
      this.log?.warn({ endpointUrl: u.endpointUrl }, 'equipment connection lost');
      void this.drop(key, false);
    });
    const session = (async () => {
      await client.connect(u.endpointUrl);
      return client.createSession();
    })();
    const entry: Entry = { client, session, up: false };
    session.then(
      () => (entry.up = true),
      () => undefined,
    );
    return entry;
  }

  /** Forgets a connection; closes its session first unless the connection is already gone. */
  private async drop(key: string, closeSession = true): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry || this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    entry.up = false;
    if (closeSession) await entry.session.then((s) => s.close()).catch(() => undefined);
    await entry.client.disconnect().catch(() => undefined);
  }

  private within<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EquipmentUnavailable(`${what}: no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

const CERTIFICATE_HINT =
  'the controller does not trust Ampoule’s certificate (or Ampoule not the controller’s): trust Ampoule’s own certificate (pki/ampoule/own/certs) on the controller, and the controller’s here with bin/ampoule trust-certificate (without an argument it lists the rejected ones)';

/** What to do about a connection failure whose cause is known (certificates, mostly), or undefined. */
export function connectionHint(reason: string): string | undefined {
  if (/BadCertificateUntrusted|BadSecurityChecksFailed|BadCertificateInvalid/i.test(reason)) return CERTIFICATE_HINT;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/i.test(reason))
    return 'nothing answers at this endpoint: check the controller is up and the endpoint URL and port are right';
  return undefined;
}
