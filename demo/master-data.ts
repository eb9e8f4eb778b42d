/** The demo's equipment classes and materials: what the example recipes refer to. */

export const DEMO_EQUIPMENT_CLASSES = [
  { code: 'BIOREACTOR', name: 'Single-use stirred-tank bioreactor', phases: ['HEAT', 'CONTROL', 'CULTIVATE', 'TRANSFER', 'AGITATE'] },
  { code: 'MIXER', name: 'Stirred buffer and media tank', phases: ['FILL', 'MIX', 'HEAT', 'TRANSFER'] },
  { code: 'SCALE', name: 'Floor scale', phases: ['WEIGH', 'TARE'] },
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
