/**
 * The equipment simulator: a real OPC UA server (node-opcua) whose units expose process values and, per
 * phase, the interface Ampoule's driver binds to — State, CommandId, Parameters, Reports and
 * TransitionCount variables, and Download and Command methods. It secures its endpoints with its own
 * certificate and rejects clients it does not trust; security None only when asked for explicitly.
 * Process time runs `timeScale` times faster than real time, so a day-long cultivation takes seconds.
 */
import type { Logger } from 'pino';
import { COMMANDS, stateCode, type PhaseCommand } from '../../domain/isa88';
import type { UnitBinding } from '../../domain/equipment';
import { openPki, type ApplicationPki } from '../pki';
import {
  DataType,
  DataValue,
  MessageSecurityMode,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
  nodesets,
  standardUnits,
  type Namespace,
  type UAObject,
} from '../opcua';
import type { PhaseFaultPlan } from './fault-plan';
import { SimulatedPhase, type CommandOutcome } from './simulated-phase';
import { SimulatedScale } from './scale';
import { DEMO_UNITS, UnitProcess, phaseLogics, type PlantUnit } from './units';

export interface SimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** The simulator's PKI folder (its certificate, and the client certificates it trusts). */
  pkiFolder: string;
  units?: PlantUnit[];
  /** Offer security mode None as well (the demo may; production controllers should not). */
  allowSecurityNone?: boolean;
  /** Process seconds per real second. */
  timeScale?: number;
  /** Real milliseconds between simulation steps. */
  tickMs?: number;
  /** Standing faults of the plant's phases (`fault-plan.ts`). */
  faults?: readonly PhaseFaultPlan[];
  log?: Logger;
}

interface SimulatedUnit extends PlantUnit {
  process: UnitProcess;
  phases: Map<string, SimulatedPhase>;
  /** A scale's weighing terminal. */
  terminal?: SimulatedScale;
}

export interface EquipmentSimulator {
  readonly endpointUrl: string;
  readonly port: number;
  readonly pki: ApplicationPki;
  readonly units: readonly SimulatedUnit[];
  phase(unit: string, phase: string): SimulatedPhase;
  /** A scale unit's weighing terminal (to put mass on it, or make it fail). */
  scale(unit: string): SimulatedScale;
  /** Where each phase of a unit lives in the address space: the binding a unit record carries. */
  bindingFor(unit: string): UnitBinding;
  /** How many subscriptions clients have created since the server (re)started. */
  subscriptionsCreated(): number;
  /**
   * Deletes every client subscription without telling the clients, as a controller that restarts its
   * subscription service (or lets one lapse) does; the sessions stay open.
   */
  dropSubscriptions(): void;
  /** Drops every connection and refuses new ones for `ms`, as a network outage does; the plant runs on. */
  outage(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const OUTCOME_STATUS: Record<CommandOutcome, typeof StatusCodes.Good> = {
  good: StatusCodes.Good,
  'invalid-state': StatusCodes.BadInvalidState,
  'invalid-argument': StatusCodes.BadInvalidArgument,
};

export async function startSimulator(options: SimulatorOptions): Promise<EquipmentSimulator> {
  const pki = await openPki(options.pkiFolder, 'equipment-simulator');
  const units: SimulatedUnit[] = (options.units ?? DEMO_UNITS).map((u) => {
    const process = new UnitProcess();
    const phases = new Map(
      Object.entries(phaseLogics(u.equipmentClass, process)).map(([name, p]) => [
        name,
        new SimulatedPhase(u.code, name, p.parameters, p.logic),
      ]),
    );
    return { ...u, process, phases, terminal: u.scale ? new SimulatedScale(u.scale) : undefined };
  });
  for (const f of options.faults ?? []) {
    const phase = units.find((u) => u.code === f.unit)?.phases.get(f.phase);
    if (!phase) throw new Error(`simulator faults: the plant has no phase ${f.unit}/${f.phase}`);
    Object.assign(phase.faults, f.faults);
  }

  const timeScale = options.timeScale ?? 60;
  const tickMs = options.tickMs ?? 50;
  const ticker = setInterval(() => {
    const dt = (tickMs / 1000) * timeScale;
    for (const u of units) {
      u.process.advance(dt);
      for (const p of u.phases.values()) p.tick(dt);
      u.terminal?.tick(tickMs);
    }
  }, tickMs);
  ticker.unref();

  let server = await serve(options, pki, units, options.port ?? 0);
  const port = server.endpoints[0].port;
  let namespaceIndex = server.engine.addressSpace!.getOwnNamespace().index;
  const endpointUrl = server.getEndpointUrl();
  options.log?.info(
    {
      endpointUrl,
      units: units.map((u) => u.code),
      securityNone: Boolean(options.allowSecurityNone),
      faults: (options.faults ?? []).map((f) => ({ phase: `${f.unit}/${f.phase}`, ...f.faults })),
    },
    'equipment simulator listening',
  );
  if (options.allowSecurityNone)
    options.log?.warn('the equipment simulator offers security mode None: for the demo only');

  const unitOf = (code: string) => {
    const u = units.find((x) => x.code === code);
    if (!u) throw new Error(`the simulator has no unit ${code}`);
    return u;
  };

  return {
    endpointUrl,
    port,
    pki,
    units,
    phase(unit, phase) {
      const p = unitOf(unit).phases.get(phase);
      if (!p) throw new Error(`unit ${unit} has no phase ${phase}`);
      return p;
    },
    scale(code) {
      const s = unitOf(code).terminal;
      if (!s) throw new Error(`unit ${code} is not a scale`);
      return s;
    },
    bindingFor(code) {
      const u = unitOf(code);
      const id = (s: string) => `ns=${namespaceIndex};s=${s}`;
      const at = (s: string) => ({ nodeId: id(`${u.code}.Scale.${s}`) });
      const method = (s: string) => ({ objectId: id(`${u.code}.Scale`), methodId: id(`${u.code}.Scale.${s}`) });
      return {
        ...(u.terminal
          ? {
              scale: {
                gross: at('Gross'),
                tare: at('Tare'),
                net: at('Net'),
                stable: at('Stable'),
                status: at('Status'),
                target: at('Target'),
                tareCommand: method('TareCommand'),
                zeroCommand: method('ZeroCommand'),
              },
            }
          : {}),
        phases: Object.fromEntries(
          [...u.phases.keys()].map((phase) => {
            const base = `${u.code}.${phase}`;
            return [
              phase,
              {
                state: { nodeId: id(`${base}.State`) },
                commandId: { nodeId: id(`${base}.CommandId`) },
                parameters: { nodeId: id(`${base}.Parameters`) },
                reports: { nodeId: id(`${base}.Reports`) },
                download: { objectId: id(base), methodId: id(`${base}.Download`) },
                command: { objectId: id(base), methodId: id(`${base}.Command`) },
              },
            ];
          }),
        ),
      };
    },
    subscriptionsCreated() {
      return server.engine.cumulatedSubscriptionCount;
    },
    dropSubscriptions() {
      for (const session of server.engine.getSessions()) {
        for (const subscription of session.publishEngine.subscriptions) session.deleteSubscription(subscription.id);
      }
    },
    async outage(ms) {
      await server.shutdown(0);
      await new Promise((r) => setTimeout(r, ms));
      server = await serve(options, pki, units, port);
      namespaceIndex = server.engine.addressSpace!.getOwnNamespace().index;
    },
    async stop() {
      clearInterval(ticker);
      await server.shutdown(0);
    },
  };
}

async function serve(
  options: SimulatorOptions,
  pki: ApplicationPki,
  units: SimulatedUnit[],
  port: number,
): Promise<OPCUAServer> {
  const securityModes = [MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt];
  const securityPolicies = [
    SecurityPolicy.Basic256Sha256,
    SecurityPolicy.Aes128_Sha256_RsaOaep,
    SecurityPolicy.Aes256_Sha256_RsaPss,
  ];
  if (options.allowSecurityNone) {
    securityModes.unshift(MessageSecurityMode.None);
    securityPolicies.unshift(SecurityPolicy.None);
  }
  const server = new OPCUAServer({
    port,
    hostname: options.host ?? '127.0.0.1',
    serverCertificateManager: pki.certificateManager,
    certificateFile: pki.certificateFile,
    privateKeyFile: pki.privateKeyFile,
    securityModes,
    securityPolicies,
    allowAnonymous: true,
    // One endpoint serves the whole simulated plant: room for a phase subscription per running phase.
    serverCapabilities: { maxSessions: 500, maxSubscriptionsPerSession: 1000, maxSubscriptions: 10_000 },
    nodeset_filename: [nodesets.standard],
    buildInfo: { productName: 'Ampoule equipment simulator', manufacturerName: 'Ampoule', softwareVersion: '1.0.0' },
    serverInfo: { applicationUri: pki.applicationUri, applicationName: { text: 'Ampoule equipment simulator' } },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const root = ns.addFolder(addressSpace.rootFolder.objects, { browseName: 'Plant', nodeId: 's=Plant' });
  for (const u of units) addUnit(ns, root, u);
  await server.start();
  return server;
}

function addUnit(ns: Namespace, root: Parameters<Namespace['addObject']>[0]['organizedBy'], u: SimulatedUnit): void {
  const unit = ns.addObject({ organizedBy: root, browseName: u.code, nodeId: `s=${u.code}`, description: u.name });
  const values = ns.addObject({ componentOf: unit, browseName: 'ProcessValues', nodeId: `s=${u.code}.PV` });
  const pv: [string, () => number][] = [
    ['Temperature', () => u.process.temperature],
    ['pH', () => u.process.ph],
    ['DissolvedOxygen', () => u.process.dissolvedOxygen],
    ['Agitation', () => u.process.agitation],
    ['Volume', () => u.process.volume],
    ['Weight', () => u.process.weight],
  ];
  for (const [name, get] of pv) {
    ns.addVariable({
      componentOf: values,
      browseName: name,
      nodeId: `s=${u.code}.PV.${name}`,
      dataType: 'Double',
      minimumSamplingInterval: 100,
      value: { get: () => new Variant({ dataType: DataType.Double, value: Math.round(get() * 1000) / 1000 }) },
    });
  }
  const phases = ns.addObject({ componentOf: unit, browseName: 'Phases', nodeId: `s=${u.code}.Phases` });
  for (const phase of u.phases.values()) addPhase(ns, phases, phase);
  if (u.terminal) addScale(ns, unit, u.code, u.terminal);
}

/**
 * A weighing terminal's interface: Gross, Tare, Net and Target as analog items in kilograms (their
 * EngineeringUnits say so, as UNECE code KGM), Stable and Status, and the Tare and Zero commands. A failed
 * load cell makes every weight Bad; a weight out of range is Uncertain.
 */
function addScale(ns: Namespace, unit: UAObject, code: string, scale: SimulatedScale): void {
  const obj = ns.addObject({ componentOf: unit, browseName: 'Scale', nodeId: `s=${code}.Scale` });
  const quality = () => {
    const r = scale.reading();
    return r.status === 'error'
      ? StatusCodes.BadSensorFailure
      : r.status === 'ok'
        ? StatusCodes.Good
        : StatusCodes.UncertainEngineeringUnitsExceeded;
  };
  const value = (dataType: DataType, get: () => number | boolean | string, good = quality) => ({
    timestamped_get: () =>
      new DataValue({
        value: new Variant({ dataType, value: get() }),
        statusCode: good(),
        sourceTimestamp: scale.readAt,
        serverTimestamp: new Date(),
      }),
  });
  const weight = (name: 'Gross' | 'Tare' | 'Net') =>
    ns.addAnalogDataItem({
      componentOf: obj,
      browseName: name,
      nodeId: `s=${code}.Scale.${name}`,
      dataType: 'Double',
      minimumSamplingInterval: 100,
      engineeringUnits: standardUnits.kilogram,
      engineeringUnitsRange: { low: 0, high: scale.spec.capacity },
      value: value(DataType.Double, () => {
        const r = scale.reading();
        return name === 'Gross' ? r.gross : name === 'Tare' ? r.tare : r.net;
      }),
    });
  weight('Gross');
  weight('Tare');
  weight('Net');
  ns.addVariable({
    componentOf: obj,
    browseName: 'Stable',
    nodeId: `s=${code}.Scale.Stable`,
    dataType: 'Boolean',
    minimumSamplingInterval: 100,
    value: value(
      DataType.Boolean,
      () => scale.reading().stable,
      () => StatusCodes.Good,
    ),
  });
  ns.addVariable({
    componentOf: obj,
    browseName: 'Status',
    nodeId: `s=${code}.Scale.Status`,
    dataType: 'String',
    minimumSamplingInterval: 100,
    value: value(
      DataType.String,
      () => scale.reading().status,
      () => StatusCodes.Good,
    ),
  });
  ns.addAnalogDataItem({
    componentOf: obj,
    browseName: 'Target',
    nodeId: `s=${code}.Scale.Target`,
    dataType: 'Double',
    accessLevel: 'CurrentRead | CurrentWrite',
    userAccessLevel: 'CurrentRead | CurrentWrite',
    engineeringUnits: standardUnits.kilogram,
    engineeringUnitsRange: { low: 0, high: scale.spec.capacity },
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: scale.target }),
      set: (v: Variant) => {
        const target = Number(v.value);
        if (!Number.isFinite(target) || target < 0 || target > scale.spec.capacity) return StatusCodes.BadOutOfRange;
        scale.setTarget(target);
        return StatusCodes.Good;
      },
    },
  });
  const TERMINAL_STATUS = {
    good: StatusCodes.Good,
    'in-motion': StatusCodes.BadInvalidState,
    'out-of-range': StatusCodes.BadOutOfRange,
  };
  for (const [name, act] of [
    ['TareCommand', () => scale.tareNow()],
    ['ZeroCommand', () => scale.zeroNow()],
  ] as const) {
    ns.addMethod(obj, {
      browseName: name,
      nodeId: `s=${code}.Scale.${name}`,
      inputArguments: [],
      outputArguments: [],
    }).bindMethod(async (_inputArguments: Variant[], _context: unknown) => ({ statusCode: TERMINAL_STATUS[act()] }));
  }
}

function addPhase(ns: Namespace, parent: UAObject, phase: SimulatedPhase): void {
  const base = `${phase.unit}.${phase.name}`;
  const obj = ns.addObject({ componentOf: parent, browseName: phase.name, nodeId: `s=${base}` });
  const variable = (
    name: string,
    dataType: 'UInt32' | 'String',
    get: () => number | string,
    sourceTimestamp?: () => Date,
  ) =>
    ns.addVariable({
      componentOf: obj,
      browseName: name,
      nodeId: `s=${base}.${name}`,
      dataType,
      minimumSamplingInterval: 50,
      value: {
        timestamped_get: () =>
          new DataValue({
            value: new Variant({ dataType: dataType === 'UInt32' ? DataType.UInt32 : DataType.String, value: get() }),
            sourceTimestamp: sourceTimestamp?.() ?? new Date(),
            serverTimestamp: new Date(),
          }),
      },
    });
  // The state carries the controller's time of the change as its source timestamp.
  variable(
    'State',
    'UInt32',
    () => stateCode(phase.state),
    () => phase.changedAt,
  );
  variable(
    'CommandId',
    'String',
    () => phase.commandId,
    () => phase.changedAt,
  );
  variable('Parameters', 'String', () => JSON.stringify(phase.parameters));
  variable(
    'Reports',
    'String',
    () => JSON.stringify(phase.reports),
    () => phase.changedAt,
  );
  variable(
    'TransitionCount',
    'UInt32',
    () => phase.transitions,
    () => phase.changedAt,
  );

  const download = ns.addMethod(obj, {
    browseName: 'Download',
    nodeId: `s=${base}.Download`,
    inputArguments: [
      {
        name: 'Parameters',
        description: { text: 'JSON object of parameter values, in the phase interface’s units' },
        dataType: DataType.String,
      },
    ],
    outputArguments: [],
  });
  download.bindMethod(async (inputArguments: Variant[], _context: unknown) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(inputArguments[0]?.value ?? ''));
    } catch {
      return { statusCode: StatusCodes.BadInvalidArgument };
    }
    return { statusCode: OUTCOME_STATUS[phase.download(parsed)] };
  });
  const command = ns.addMethod(obj, {
    browseName: 'Command',
    nodeId: `s=${base}.Command`,
    inputArguments: [
      {
        name: 'Command',
        description: { text: '1 Start, 2 Pause, 3 Resume, 4 Hold, 5 Restart, 6 Stop, 7 Reset, 8 Abort' },
        dataType: DataType.UInt32,
      },
      {
        name: 'CommandId',
        description: { text: 'The correlation id the phase latches on Start' },
        dataType: DataType.String,
      },
    ],
    outputArguments: [],
  });
  command.bindMethod(async (inputArguments: Variant[], _context: unknown) => {
    const name = COMMANDS[Number(inputArguments[0]?.value)] as PhaseCommand | undefined;
    if (!name || name === 'none') return { statusCode: StatusCodes.BadInvalidArgument };
    return { statusCode: OUTCOME_STATUS[phase.command(name, String(inputArguments[1]?.value ?? ''))] };
  });
}
