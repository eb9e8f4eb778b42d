/**
 * The fault harness's webhook receiver: an HTTP endpoint on loopback, subscribed to every event, that checks each
 * delivery's Standard Webhooks signature and keeps what arrived — so that the end of a run can hold the outbox
 * against it: every event arrived, duplicates only with their own id, each subject's events in the order written.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { Webhook } from 'standardwebhooks';

export interface EventReceiver {
  url: string;
  /** Checks signatures from now on with the subscription's secret. */
  useSecret(secret: string): void;
  /**
   * Holds the outbox (read as its owner), from the event after `afterSeq` (the last one before the subscription), against
   * what arrived; the problems found.
   */
  check(
    owner: Knex,
    afterSeq: number,
  ): Promise<{ written: number; received: number; duplicates: number; problems: string[] }>;
  close(): Promise<void>;
}

export async function startEventReceiver(): Promise<EventReceiver> {
  let hook: Webhook | undefined;
  /** Event ids in the order they first arrived, and how often each came. */
  const arrived = new Map<string, number>();
  let badSignatures = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      try {
        hook?.verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        });
      } catch {
        badSignatures++;
      }
      arrived.set(id, (arrived.get(id) ?? 0) + 1);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    useSecret: (secret) => (hook = new Webhook(secret)),
    async check(owner, afterSeq) {
      const events = (await owner('outbox_events')
        .where('seq', '>', afterSeq)
        .select('id', 'subject', 'type')
        .orderBy('seq')) as {
        id: string;
        subject: string;
        type: string;
      }[];
      const problems: string[] = [];
      const missing = events.filter((e) => !arrived.has(e.id));
      if (missing.length > 0)
        problems.push(
          `${missing.length} events never arrived (the first: ${missing[0].type} of ${missing[0].subject})`,
        );
      if (badSignatures > 0) problems.push(`${badSignatures} deliveries with a signature that does not verify`);
      // Each subject's events in the order they were written.
      const firstArrival = new Map([...arrived.keys()].map((id, i) => [id, i]));
      const bySubject = new Map<string, string[]>();
      for (const e of events) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e.id]);
      for (const [subject, ids] of bySubject) {
        const order = ids.map((id) => firstArrival.get(id) ?? Infinity);
        if (order.some((v, i) => i > 0 && v < order[i - 1])) problems.push(`${subject}'s events arrived out of order`);
      }
      const duplicates = [...arrived.values()].reduce((n, c) => n + c - 1, 0);
      return { written: events.length, received: arrived.size, duplicates, problems };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
