/**
 * The ISA-88 phase handshake over OPC UA, as the batch engine's side of it: the engine owns the command,
 * the controller owns the state.
 *
 * 1. Read the state and the command id the phase latched. If it latched ours, reconcile: still running →
 *    watch it; complete → collect; never Start again.
 * 2. Otherwise (and only from Idle) download every parameter in one call and read them back.
 * 3. Start with the command id `<workflowId>/<stepId>`: the controller latches it, so a duplicate Start
 *    starts nothing.
 * 4. Watch the state by subscription, and read it at intervals too (a sampled subscription can miss a
 *    short state), heartbeating the caller and recording each change with the controller's timestamp.
 * 5. On Complete read the reports and Reset; Stopped or Aborted is a business failure.
 * Hold, Restart, Stop and Abort pass through `command`. A cancelled caller sends Stop (or Abort).
 */
import { FINAL_STATES, commandCode, stateOf, type PhaseCommand, type PhaseState } from '../../domain/isa88';
import type { MethodRef, NodeRef, PhaseBinding, UnitEndpoint } from '../../domain/equipment';
import { EquipmentUnavailable, PhaseFailure } from '../errors';
import { AttributeIds, DataType, StatusCodes, Variant, type DataValue } from '../opcua';
import type { Connections } from './connections';
import { NodeResolver } from './node-resolver';
import { StateSubscriptions } from './state-subscriptions';

export interface StateChange {
  unit: string;
  phase: string;
  state: PhaseState;
  commandId: string;
  sourceTimestamp: Date;
}

export interface PhaseRun {
  unit: UnitEndpoint;
  phase: string;
  /** `<workflowId>/<stepId>`: never the attempt number. */
  commandId: string;
  /** Parameter values in the controller's units (see `parameters.ts`). */
  parameters: Record<string, number>;
  /** Called at every observation, so the caller can heartbeat; throwing from it abandons the run. */
  heartbeat?: (details: { state: PhaseState }) => void;
  /** Each state change, with the controller's timestamp. */
  onStateChange?: (change: StateChange) => Promise<void> | void;
  /** Aborting it (the caller was cancelled) sends `onCancel` to the phase. */
  signal?: AbortSignal;
  /** Aborting it stops watching and leaves the phase running (the worker is shutting down; another picks it up). */
  abandon?: AbortSignal;
  onCancel?: 'stop' | 'abort';
  /** How often to read the state besides the subscription. */
  pollMs?: number;
}

export interface PhaseOutcome {
  reports: Record<string, number>;
  /** Whether this call found the run already under way or done (after a crash or a retry). */
  reconciled: boolean;
}

interface Snapshot {
  state: PhaseState;
  commandId: string;
  sourceTimestamp: Date;
}

export class PhaseDriver {
  private readonly states: StateSubscriptions;

  private readonly nodes: NodeResolver;

  constructor(private readonly connections: Connections) {
    this.states = new StateSubscriptions(connections);
    this.nodes = new NodeResolver(connections);
  }

  async run(r: PhaseRun): Promise<PhaseOutcome> {
    const binding = this.bindingOf(r.unit, r.phase);
    let now = await this.snapshot(r.unit, binding);
    let reconciled = false;
    if (now.commandId === r.commandId && now.state !== 'unknown') {
      reconciled = true; // ours: never start it again
    } else {
      if (now.state !== 'idle') {
        throw new PhaseFailure(
          'EquipmentNotIdle',
          `${r.unit.code} ${r.phase} is ${now.state} (last command ${now.commandId || 'none'}), not idle`,
          { state: now.state, commandId: now.commandId },
        );
      }
      await this.download(r, binding);
      await this.send(r.unit, binding, 'start', r.commandId, r.phase);
      now = await this.snapshot(r.unit, binding);
    }
    await this.record(r, now);
    // Idle with our command id latched: it completed and was reset before a crash; its reports are still there.
    if (!(reconciled && now.state === 'idle')) now = await this.watch(r, binding, now);
    const reports = await this.readJson(r.unit, binding.reports, `${r.phase} reports`);
    await this.send(r.unit, binding, 'reset', r.commandId, r.phase, true);
    await this.record(r, await this.snapshot(r.unit, binding)); // back to Idle, ready for the next step
    if (now.state === 'stopped' || now.state === 'aborted') {
      throw new PhaseFailure(
        now.state === 'stopped' ? 'PhaseStopped' : 'PhaseAborted',
        `${r.unit.code} ${r.phase} ended ${now.state}`,
        { reports },
      );
    }
    return { reports: reports as Record<string, number>, reconciled };
  }

  /** Passes a batch command (hold, restart, stop, abort) to a running phase. */
  async command(
    unit: UnitEndpoint,
    phase: string,
    command: Exclude<PhaseCommand, 'none' | 'start'>,
    commandId: string,
  ): Promise<void> {
    await this.send(unit, this.bindingOf(unit, phase), command, commandId, phase);
  }

  /** The phase's state and latched command id, now. */
  async state(unit: UnitEndpoint, phase: string): Promise<Snapshot> {
    return this.snapshot(unit, this.bindingOf(unit, phase));
  }

  // ---- the steps -------------------------------------------------------------------------------------

  private async download(r: PhaseRun, binding: PhaseBinding): Promise<void> {
    const json = JSON.stringify(r.parameters);
    const status = await this.call(
      r.unit,
      binding.download,
      [new Variant({ dataType: DataType.String, value: json })],
      `${r.phase} download`,
    );
    if (status !== 'good')
      throw new PhaseFailure(
        'ParametersRefused',
        `${r.unit.code} ${r.phase} refused the parameters ${json} (${status})`,
        { parameters: r.parameters },
      );
    const readBack = await this.readJson(r.unit, binding.parameters, `${r.phase} parameters`);
    const differs = Object.keys({ ...r.parameters, ...readBack }).filter((k) => readBack[k] !== r.parameters[k]);
    if (differs.length > 0) {
      throw new PhaseFailure(
        'ParameterReadbackMismatch',
        `${r.unit.code} ${r.phase} holds other parameters than were sent: ${differs.join(', ')}`,
        { sent: r.parameters, readBack },
      );
    }
  }

  /** Follows the phase until it reaches a final state; returns that state. */
  private async watch(r: PhaseRun, binding: PhaseBinding, first: Snapshot): Promise<Snapshot> {
    let now = first;
    let wake: (() => void) | undefined;
    const cleanups: (() => void)[] = [];
    // Wakes the wait below at each change; the controller's one subscription for this session carries it.
    const stateWatch = await this.states.watch(r.unit, await this.nodes.node(r.unit, binding.state), () => wake?.());
    try {
      let cancelSent = false;
      // One listener each for the whole watch (not one per wait): they wake whatever wait is current.
      const onAbort = () => wake?.();
      r.signal?.addEventListener('abort', onAbort);
      r.abandon?.addEventListener('abort', onAbort);
      cleanups.push(() => {
        r.signal?.removeEventListener('abort', onAbort);
        r.abandon?.removeEventListener('abort', onAbort);
      });
      while (!FINAL_STATES.includes(now.state)) {
        if (!r.signal?.aborted && !r.abandon?.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, r.pollMs ?? 250);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        wake = undefined;
        if (r.abandon?.aborted) throw r.abandon.reason ?? new Error('abandoned');
        if (r.signal?.aborted && !cancelSent) {
          cancelSent = true;
          await this.send(r.unit, binding, r.onCancel ?? 'stop', r.commandId, r.phase, true);
          throw r.signal.reason ?? new Error('cancelled');
        }
        const next = await this.snapshot(r.unit, binding);
        if (next.state !== now.state || next.sourceTimestamp.getTime() !== now.sourceTimestamp.getTime())
          await this.record(r, next);
        now = next;
        r.heartbeat?.({ state: now.state });
      }
      return now;
    } finally {
      for (const c of cleanups) c();
      await stateWatch?.stop();
    }
  }

  private async record(r: PhaseRun, s: Snapshot): Promise<void> {
    await r.onStateChange?.({
      unit: r.unit.code,
      phase: r.phase,
      state: s.state,
      commandId: s.commandId,
      sourceTimestamp: s.sourceTimestamp,
    });
  }

  /** Sends a command; a refusal is a business failure unless `tolerateRefusal` (a Reset of a phase already Idle). */
  private async send(
    unit: UnitEndpoint,
    binding: PhaseBinding,
    command: Exclude<PhaseCommand, 'none'>,
    commandId: string,
    phase: string,
    tolerateRefusal = false,
  ): Promise<void> {
    const status = await this.call(
      unit,
      binding.command,
      [
        new Variant({ dataType: DataType.UInt32, value: commandCode(command) }),
        new Variant({ dataType: DataType.String, value: commandId }),
      ],
      `${phase} ${command}`,
    );
    if (status !== 'good' && !tolerateRefusal) {
      const state = (await this.snapshot(unit, binding)).state;
      throw new PhaseFailure(
        'CommandRefused',
        `${unit.code} ${phase} refused ${command} in state ${state} (${status})`,
        { command, state },
      );
    }
  }

  // ---- OPC UA ----------------------------------------------------------------------------------------

  private async snapshot(unit: UnitEndpoint, binding: PhaseBinding): Promise<Snapshot> {
    const [stateNode, idNode] = [
      await this.nodes.node(unit, binding.state),
      await this.nodes.node(unit, binding.commandId),
    ];
    const [state, id] = await this.connections.use(unit, 'reading the phase state', (s) =>
      s.read([
        { nodeId: stateNode, attributeId: AttributeIds.Value },
        { nodeId: idNode, attributeId: AttributeIds.Value },
      ]),
    );
    this.good(state, unit, 'state');
    this.good(id, unit, 'command id');
    return {
      state: stateOf(Number(state.value.value)),
      commandId: String(id.value.value ?? ''),
      sourceTimestamp: state.sourceTimestamp ?? new Date(),
    };
  }

  private async readJson(unit: UnitEndpoint, ref: NodeRef, what: string): Promise<Record<string, unknown>> {
    const nodeId = await this.nodes.node(unit, ref);
    const dv = await this.connections.use(unit, `reading ${what}`, (s) =>
      s.read({ nodeId, attributeId: AttributeIds.Value }),
    );
    this.good(dv, unit, what);
    try {
      const parsed = JSON.parse(String(dv.value.value ?? '{}'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as Record<string, unknown>;
    } catch (err) {
      throw new PhaseFailure('BindingInvalid', `${unit.code} ${what} is not a JSON object: ${(err as Error).message}`);
    }
  }

  /** Calls a method; the result is good, or the status code's name. */
  private async call(
    unit: UnitEndpoint,
    ref: MethodRef,
    inputArguments: Variant[],
    what: string,
  ): Promise<'good' | string> {
    const { objectId, methodId } = await this.nodes.method(unit, ref);
    const result = await this.connections.use(unit, what, (s) => s.call({ objectId, methodId, inputArguments }));
    if (result.statusCode.equals(StatusCodes.Good)) return 'good';
    if (
      result.statusCode.equals(StatusCodes.BadNodeIdUnknown) ||
      result.statusCode.equals(StatusCodes.BadMethodInvalid)
    ) {
      throw new PhaseFailure(
        'BindingInvalid',
        `${unit.code}: ${what} is not a method at ${methodId} (${result.statusCode.name})`,
      );
    }
    return result.statusCode.name;
  }

  private good(dv: DataValue, unit: UnitEndpoint, what: string): void {
    if (dv.statusCode.equals(StatusCodes.BadNodeIdUnknown))
      throw new PhaseFailure('BindingInvalid', `${unit.code}: the binding's ${what} node does not exist`);
    if (!dv.statusCode.isGood())
      throw new EquipmentUnavailable(`${unit.code}: reading the ${what} gave ${dv.statusCode.name}`);
  }

  private bindingOf(unit: UnitEndpoint, phase: string): PhaseBinding {
    const b = unit.binding.phases[phase];
    if (!b) throw new PhaseFailure('BindingInvalid', `${unit.code} has no binding for phase ${phase}`);
    return b;
  }
}
