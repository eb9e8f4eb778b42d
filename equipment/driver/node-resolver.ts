/**
 * Where a binding's nodes are: a node id as given, or a browse path from the root translated once per endpoint
 * and cached. Shared by the phase driver and the scale terminal.
 */
import type { MethodRef, NodeRef, UnitEndpoint } from '../../domain/equipment';
import { PhaseFailure } from '../errors';
import { makeBrowsePath, type ClientSession } from '../opcua';
import type { Connections } from './connections';

export class NodeResolver {
  private readonly resolved = new Map<string, string>();

  constructor(private readonly connections: Connections) {}

  async node(unit: UnitEndpoint, ref: NodeRef): Promise<string> {
    if ('nodeId' in ref) return ref.nodeId;
    return this.translate(unit, ref.browsePath);
  }

  async method(unit: UnitEndpoint, ref: MethodRef): Promise<{ objectId: string; methodId: string }> {
    if ('objectId' in ref) return ref;
    const parent = ref.browsePath.slice(0, ref.browsePath.lastIndexOf('/'));
    return { objectId: await this.translate(unit, parent), methodId: await this.translate(unit, ref.browsePath) };
  }

  /**
   * A browse path resolved once per endpoint and cached: from the root (`/Objects/2:Plant/…`), or from `start`
   * (a node id) along a relative path such as `.EngineeringUnits`.
   */
  async translate(unit: UnitEndpoint, browsePath: string, start = 'RootFolder'): Promise<string> {
    const key = `${unit.endpointUrl}|${start}|${browsePath}`;
    const known = this.resolved.get(key);
    if (known) return known;
    const result = await this.connections.use(unit, `resolving ${browsePath}`, (s: ClientSession) =>
      s.translateBrowsePath(makeBrowsePath(start, browsePath)),
    );
    const target = result.targets?.[0]?.targetId;
    if (!result.statusCode.isGood() || !target)
      throw new PhaseFailure('BindingInvalid', `${unit.code}: no node at ${browsePath} (${result.statusCode.name})`);
    const nodeId = target.toString();
    this.resolved.set(key, nodeId);
    return nodeId;
  }
}
