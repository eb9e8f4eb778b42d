/**
 * What an equipment phase takes and gives (ISA-88's phase interface): named parameters and reports,
 * each with its quantity kind and the unit the controller works in. An equipment class declares one per
 * phase; recipes are checked against it, and the driver converts recipe values into its units.
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

export const phaseInterfacesSchema = z.record(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an equipment phase name such as HEAT'), phaseInterfaceSchema);
