/** The demo's equipment classes (with their phase interfaces) and materials: what the example recipes refer to. */
import type { PhaseInterface } from '../domain/equipment';

const celsius = { quantity: 'temperature', unit: 'Cel' } as const;
const litres = { quantity: 'volume', unit: 'L' } as const;
const perMinute = { quantity: 'rotationalSpeed', unit: '/min' } as const;
const pH = { quantity: 'pH', unit: '[pH]' } as const;
const percent = { quantity: 'fraction', unit: '%' } as const;

export const DEMO_EQUIPMENT_CLASSES: {
  code: string;
  name: string;
  phases: string[];
  interfaces: Record<string, PhaseInterface>;
}[] = [
  {
    code: 'BIOREACTOR',
    name: 'Single-use stirred-tank bioreactor',
    phases: ['HEAT', 'CONTROL', 'CULTIVATE', 'TRANSFER', 'AGITATE'],
    interfaces: {
      HEAT: { parameters: { temperature: celsius }, reports: { temperature: celsius } },
      CONTROL: { parameters: { ph: pH, do: percent, agitation: perMinute }, reports: { ph: pH, do: percent } },
      CULTIVATE: {
        parameters: { temperature: celsius, ph: pH, do: percent, duration: { quantity: 'time', unit: 'h' } },
        reports: { 'temperature-mean': celsius, 'ph-mean': pH },
      },
      TRANSFER: { parameters: { volume: litres }, reports: { transferred: litres } },
      AGITATE: { parameters: { agitation: perMinute }, reports: { agitation: perMinute } },
    },
  },
  {
    code: 'MIXER',
    name: 'Stirred buffer and media tank',
    phases: ['FILL', 'MIX', 'HEAT', 'TRANSFER'],
    interfaces: {
      FILL: { parameters: { volume: litres }, reports: { volume: litres, temperature: celsius } },
      MIX: {
        parameters: { speed: perMinute, time: { quantity: 'time', unit: 'min' } },
        reports: { time: { quantity: 'time', unit: 'min' } },
      },
      HEAT: { parameters: { temperature: celsius }, reports: { temperature: celsius } },
      TRANSFER: { parameters: { volume: litres }, reports: { transferred: litres } },
    },
  },
  {
    code: 'SCALE',
    name: 'Floor scale',
    phases: ['WEIGH', 'TARE'],
    interfaces: {
      WEIGH: {
        parameters: { target: { quantity: 'mass', unit: 'kg' } },
        reports: { net: { quantity: 'mass', unit: 'kg' } },
      },
      TARE: { parameters: {}, reports: {} },
    },
  },
];

export const DEMO_MATERIALS = [
  { code: 'WFI', name: 'Water for injection', type: 'raw', baseUnit: 'L' },
  { code: 'NACL', name: 'Sodium chloride, Ph. Eur.', type: 'raw', baseUnit: 'kg' },
  { code: 'KCL', name: 'Potassium chloride, Ph. Eur.', type: 'raw', baseUnit: 'kg' },
  { code: 'NA2HPO4', name: 'Disodium hydrogen phosphate, anhydrous', type: 'raw', baseUnit: 'kg' },
  { code: 'KH2PO4', name: 'Potassium dihydrogen phosphate', type: 'raw', baseUnit: 'kg' },
  { code: 'NAOH-1M', name: 'Sodium hydroxide solution 1 M', type: 'raw', baseUnit: 'L' },
  { code: 'HCL-1M', name: 'Hydrochloric acid 1 M', type: 'raw', baseUnit: 'L' },
  { code: 'CD-CHO', name: 'CD CHO chemically defined medium', type: 'raw', baseUnit: 'L' },
  { code: 'FEED-B', name: 'Feed B concentrate', type: 'raw', baseUnit: 'L' },
  { code: 'INOC-MAB1', name: 'mAb-1 N-1 seed culture', type: 'intermediate', baseUnit: 'L' },
  { code: 'PBS-1X', name: 'Phosphate-buffered saline 1X, pH 7.4', type: 'product', baseUnit: 'L' },
  { code: 'MAB1-HARVEST', name: 'mAb-1 clarified harvest', type: 'intermediate', baseUnit: 'L' },
] as const;
