/**
 * Watching phase states by subscription: one subscription per controller session, shared by every phase
 * watched on it, each phase a monitored item added for its run and removed after.
 *
 * Why shared: creating and deleting a subscription for every phase run costs a controller far more than
 * adding and removing a monitored item (a node-opcua server builds a diagnostics node tree for each
 * subscription — a third of the simulator's CPU went there; PLCs cap subscriptions per session), and a
 * plant runs many phases at once on one connection.
 *
 * Best effort: the phase driver also reads the state at intervals, so a watch that cannot be set up, or a
 * subscription that dies, only makes it notice a change later. A dead subscription is replaced on next use:
 * one that says so ('terminated') at once, one that died silently when it refuses a monitored item.
 */
import type { UnitEndpoint } from '../../domain/equipment';
import { AttributeIds, TimestampsToReturn, type ClientSession, type ClientSubscription } from '../opcua';
import type { Connections } from './connections';

export interface StateWatch {
  /** Removes the monitored item; the subscription stays for the next phase. */
  stop(): Promise<void>;
}

const SUBSCRIPTION = {
  requestedPublishingInterval: 100,
  requestedLifetimeCount: 600,
  requestedMaxKeepAliveCount: 20,
  publishingEnabled: true,
  maxNotificationsPerPublish: 1000,
  priority: 1,
};
const ITEM = { samplingInterval: 50, queueSize: 20, discardOldest: true };

export class StateSubscriptions {
  // Keyed by the session object: a session Connections replaces takes its subscription with it.
  private readonly bySession = new WeakMap<ClientSession, Promise<ClientSubscription>>();

  constructor(private readonly connections: Connections) {}

  /** Calls `onChange` at each change of the node's value, until stopped; undefined if no watch could be set up. */
  async watch(unit: UnitEndpoint, nodeId: string, onChange: () => void): Promise<StateWatch | undefined> {
    try {
      const session = await this.connections.session(unit);
      const earlier = this.bySession.has(session);
      const subscription = this.subscriptionOf(session);
      try {
        return await this.monitor(await subscription, nodeId, onChange);
      } catch (err) {
        if (!earlier) throw err;
        // A server that deleted the subscription without a word answers the client's publishes with
        // BadNoSubscription, which node-opcua's client only logs: the cached subscription is dead. Replace it, once.
        this.forget(session, subscription);
        return await this.monitor(await this.subscriptionOf(session), nodeId, onChange);
      }
    } catch {
      return undefined;
    }
  }

  private async monitor(subscription: ClientSubscription, nodeId: string, onChange: () => void): Promise<StateWatch> {
    const item = await subscription.monitor({ nodeId, attributeId: AttributeIds.Value }, ITEM, TimestampsToReturn.Both);
    item.on('changed', onChange);
    return {
      async stop() {
        item.removeListener('changed', onChange);
        await item.terminate().catch(() => undefined);
      },
    };
  }

  /** Stops using `subscription` for `session` (unless another watch replaced it already), and deletes it if it still can be. */
  private forget(session: ClientSession, subscription: Promise<ClientSubscription>): void {
    if (this.bySession.get(session) !== subscription) return;
    this.bySession.delete(session);
    subscription.then((s) => s.terminate()).catch(() => undefined);
  }

  private subscriptionOf(session: ClientSession): Promise<ClientSubscription> {
    const known = this.bySession.get(session);
    if (known) return known;
    const uncache = () => {
      if (this.bySession.get(session) === created) this.bySession.delete(session);
    };
    const created: Promise<ClientSubscription> = session.createSubscription2(SUBSCRIPTION).then((subscription) => {
      subscription.on('terminated', uncache);
      return subscription;
    });
    created.catch(uncache);
    this.bySession.set(session, created);
    return created;
  }
}
