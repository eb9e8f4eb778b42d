/**
 * A scale's weighing terminal over OPC UA: one read of its weights, stability and status, with the net weight's
 * StatusCode and source timestamp and the unit its EngineeringUnits property names (a UNECE code, turned into
 * UCUM); its tare and zero commands; the target a dispensing shows the operator. Through the same connections
 * (and so the same certificates and trust) as the phases.
 */
import type { ScaleBinding, UnitEndpoint } from '../../domain/equipment';
import type { ScaleReading } from '../../domain/weighing';
import { EquipmentUnavailable, PhaseFailure } from '../errors';
import { AttributeIds, DataType, StatusCodes, Variant, type DataValue } from '../opcua';
import type { Connections } from './connections';
import { NodeResolver } from './node-resolver';

/** UNECE Recommendation 20 common codes of mass (OPC UA's EngineeringUnits), as UCUM units. */
const MASS_UNITS: Record<string, string> = { KGM: 'kg', GRM: 'g', MGM: 'mg', TNE: 't', LBR: '[lb_av]' };

/** The UNECE common code packed into an EUInformation's unitId (three characters, one per byte). */
export function uneceCode(unitId: number): string {
  return [(unitId >> 16) & 0xff, (unitId >> 8) & 0xff, unitId & 0xff]
    .filter((c) => c !== 0)
    .map((c) => String.fromCharCode(c))
    .join('');
}

/** A command the terminal refused: in motion, out of range, or another status code's name. */
export class TerminalRefusal extends Error {
  constructor(
    readonly statusName: string,
    message: string,
  ) {
    super(message);
    this.name = 'TerminalRefusal';
  }
}

export class ScaleTerminal {
  private readonly nodes: NodeResolver;

  constructor(private readonly connections: Connections) {
    this.nodes = new NodeResolver(connections);
  }

  async read(unit: UnitEndpoint): Promise<ScaleReading> {
    const b = this.bindingOf(unit);
    const net = await this.nodes.node(unit, b.net);
    const ids = [
      await this.nodes.node(unit, b.gross),
      await this.nodes.node(unit, b.tare),
      net,
      await this.nodes.node(unit, b.stable),
      await this.nodes.node(unit, b.status),
      await this.nodes.translate(unit, '.EngineeringUnits', net),
    ];
    // maxAge 0: the terminal's weight now, not a value its server cached.
    const values = await this.connections.use(unit, `reading scale ${unit.code}`, (s) =>
      s.read(
        ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
        0,
      ),
    );
    const [gross, tare, netValue, stable, status, units] = values;
    for (const [dv, what] of [
      [stable, 'stability'],
      [status, 'status'],
      [units, 'engineering units'],
    ] as const)
      this.readable(dv, unit, what);
    const code = uneceCode(Number((units.value.value as { unitId?: number } | null)?.unitId ?? 0));
    const ucum = MASS_UNITS[code];
    if (!ucum)
      throw new PhaseFailure('BindingInvalid', `${unit.code}: the net weight's unit ${code || '(none)'} is not a mass`);
    return {
      scale: unit.code,
      gross: Number(gross.value.value),
      tare: Number(tare.value.value),
      net: Number(netValue.value.value),
      unit: ucum,
      stable: stable.value.value === true,
      status: String(status.value.value),
      // The worst of the three weights' qualities: a reading is only as good as its weakest part.
      quality: [netValue, gross, tare].map((dv) => dv.statusCode).find((c) => !c.isGood())?.name ?? 'Good',
      sourceTimestamp: (netValue.sourceTimestamp ?? netValue.serverTimestamp ?? new Date(0)).toISOString(),
      serverTimestamp: (netValue.serverTimestamp ?? new Date()).toISOString(),
    };
  }

  /** Tares the terminal; a terminal that refuses (weight in motion, out of range) throws `TerminalRefusal`. */
  tare(unit: UnitEndpoint): Promise<void> {
    return this.command(unit, this.bindingOf(unit).tareCommand, 'tare');
  }

  zero(unit: UnitEndpoint): Promise<void> {
    const ref = this.bindingOf(unit).zeroCommand;
    if (!ref) throw new PhaseFailure('BindingInvalid', `${unit.code}: its binding has no zero command`);
    return this.command(unit, ref, 'zero');
  }

  /** Shows `target` (in the terminal's unit) on the terminal, where its binding has a target; 0 clears it. */
  async showTarget(unit: UnitEndpoint, target: number): Promise<void> {
    const ref = this.bindingOf(unit).target;
    if (!ref) return;
    const nodeId = await this.nodes.node(unit, ref);
    const status = await this.connections.use(unit, `setting the target of ${unit.code}`, (s) =>
      s.write({
        nodeId,
        attributeId: AttributeIds.Value,
        value: { value: new Variant({ dataType: DataType.Double, value: target }) },
      }),
    );
    if (!status.isGood())
      throw new TerminalRefusal(status.name, `${unit.code} refused the target ${target}: ${status.name}`);
  }

  private async command(unit: UnitEndpoint, ref: ScaleBinding['tareCommand'], what: string): Promise<void> {
    const { objectId, methodId } = await this.nodes.method(unit, ref);
    const result = await this.connections.use(unit, `${what} of ${unit.code}`, (s) =>
      s.call({ objectId, methodId, inputArguments: [] }),
    );
    const c = result.statusCode;
    if (c.isGood()) return;
    if (c.equals(StatusCodes.BadNodeIdUnknown) || c.equals(StatusCodes.BadMethodInvalid))
      throw new PhaseFailure('BindingInvalid', `${unit.code}: ${what} is not a method at ${methodId} (${c.name})`);
    const why = c.equals(StatusCodes.BadInvalidState)
      ? 'the weight is in motion'
      : c.equals(StatusCodes.BadOutOfRange)
        ? 'the weight is out of range'
        : c.name;
    throw new TerminalRefusal(c.name, `${unit.code} refused to ${what}: ${why}`);
  }

  private readable(dv: DataValue, unit: UnitEndpoint, what: string): void {
    if (dv.statusCode.equals(StatusCodes.BadNodeIdUnknown))
      throw new PhaseFailure('BindingInvalid', `${unit.code}: the binding's ${what} node does not exist`);
    if (!dv.statusCode.isGood())
      throw new EquipmentUnavailable(`${unit.code}: reading the ${what} gave ${dv.statusCode.name}`);
  }

  private bindingOf(unit: UnitEndpoint): ScaleBinding {
    const b = unit.binding.scale;
    if (!b) throw new PhaseFailure('BindingInvalid', `${unit.code} is not bound as a scale`);
    return b;
  }
}
