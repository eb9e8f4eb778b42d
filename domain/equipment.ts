/**
 * Equipment as configuration. A phase interface (ISA-88): the named parameters and reports of a phase,
 * each with its quantity kind and the unit the controller works in; an equipment class declares one per
 * phase, recipes are checked against it, and the driver converts recipe values into its units.
 *
 * A unit binding: where a unit's phase interface lives in its controller's address space, so a
 * controller with its own node layout is connected by writing a binding, not code. Each node is a node
 * id (`ns=2;s=Reactor1.Heat.State`) or a browse path from the root (`/Objects/2:Plant/2:R1/2:Heat/2:State`);
 * each method is its object and method node ids, or the method's browse path (its object is the parent).
 */
import { z } from 'zod';
import { QUANTITY_KIND_NAMES, type QuantityKind } from './units';

export interface PhaseSignal {
  quantity: QuantityKind;
  unit: string;
}

export interface PhaseInterface {
  parameters: Record<string, PhaseSignal>;
  reports: Record<string, PhaseSignal>;
}

const signalName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'expected a lower-case name such as temperature');
const signal = z.strictObject({ quantity: z.enum(QUANTITY_KIND_NAMES), unit: z.string().min(1).max(64) });

export const phaseInterfaceSchema = z.strictObject({
  parameters: z.record(signalName, signal).default({}),
  reports: z.record(signalName, signal).default({}),
});

export const phaseInterfacesSchema = z.record(
  z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an equipment phase name such as HEAT'),
  phaseInterfaceSchema,
);

const nodeRef = z.union([
  z.strictObject({ nodeId: z.string().min(1).max(500) }),
  z.strictObject({ browsePath: z.string().regex(/^\//, 'a browse path starts at the root, with /').max(1000) }),
]);

const methodRef = z.union([
  z.strictObject({ objectId: z.string().min(1).max(500), methodId: z.string().min(1).max(500) }),
  z.strictObject({ browsePath: z.string().regex(/^\//, 'a browse path starts at the root, with /').max(1000) }),
]);

export const phaseBindingSchema = z.strictObject({
  /** The phase state, as the ISA-88 numeric code (Idle 1, Running 2, Complete 3, …). */
  state: nodeRef,
  /** The command id the phase latched on its last Start. */
  commandId: nodeRef,
  /** The downloaded parameters (JSON), read back after Download. */
  parameters: nodeRef,
  /** The reports of the last run (JSON). */
  reports: nodeRef,
  /** Method(Parameters: String JSON): all parameters in one call. */
  download: methodRef,
  /** Method(Command: UInt32, CommandId: String). */
  command: methodRef,
});

/**
 * A scale's weighing terminal: its weights (the net weight's EngineeringUnits property names their unit), its
 * stability flag and status, the target a dispensing sends it, and its tare and zero commands (methods without
 * arguments).
 */
export const scaleBindingSchema = z.strictObject({
  gross: nodeRef,
  tare: nodeRef,
  net: nodeRef,
  /** Boolean: the weight is not in motion. */
  stable: nodeRef,
  /** String: ok, overload, underload or error. */
  status: nodeRef,
  /** Double, written: the target weight the terminal shows the operator (optional). */
  target: nodeRef.optional(),
  tareCommand: methodRef,
  zeroCommand: methodRef.optional(),
});

export const unitBindingSchema = z.strictObject({
  phases: z.record(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/), phaseBindingSchema),
  scale: scaleBindingSchema.optional(),
});

export type NodeRef = z.infer<typeof nodeRef>;
export type MethodRef = z.infer<typeof methodRef>;
export type PhaseBinding = z.infer<typeof phaseBindingSchema>;
export type UnitBinding = z.infer<typeof unitBindingSchema>;
export type ScaleBinding = z.infer<typeof scaleBindingSchema>;

/** Where a unit's controller is and how to talk to it securely. */
export interface UnitEndpoint {
  code: string;
  endpointUrl: string;
  securityMode: 'None' | 'Sign' | 'SignAndEncrypt';
  securityPolicy: string;
  binding: UnitBinding;
}
