/**
 * The simulator's plant: units with process values that move the way the real ones do (a temperature
 * approaches its setpoint with a time constant; a tank fills at a flow rate), and the phase logic of each
 * equipment class of the demo (`demo/master-data.ts`): what each phase does to the process, when it is done,
 * and what it reports.
 */
import type { ScaleSpec } from './scale';
import type { PhaseLogic } from './simulated-phase';

/** Process values of a unit, and the setpoints its controllers chase. */
export class UnitProcess {
  temperature = 21;
  temperatureSp = 21;
  ph = 7.2;
  phSp = 7.2;
  dissolvedOxygen = 95;
  dissolvedOxygenSp = 95;
  agitation = 0;
  agitationSp = 0;
  volume = 0;
  weight = 0;

  /** First-order approach of each value to its setpoint, over `dt` process seconds. */
  advance(dt: number): void {
    const approach = (value: number, setpoint: number, tauSeconds: number) =>
      setpoint + (value - setpoint) * Math.exp(-dt / tauSeconds);
    this.temperature = approach(this.temperature, this.temperatureSp, 600);
    this.ph = approach(this.ph, this.phSp, 300);
    this.dissolvedOxygen = approach(this.dissolvedOxygen, this.dissolvedOxygenSp, 120);
    this.agitation = approach(this.agitation, this.agitationSp, 20);
  }
}

const near = (value: number, target: number, band: number) => Math.abs(value - target) <= band;

/** The phase logics of a unit of `equipmentClass`, keyed by phase name, with the parameters each takes. */
export function phaseLogics(
  equipmentClass: string,
  p: UnitProcess,
): Record<string, { parameters: string[]; logic: PhaseLogic }> {
  const heat = (): { parameters: string[]; logic: PhaseLogic } => ({
    parameters: ['temperature'],
    logic: {
      begin: (x) => (p.temperatureSp = x.temperature ?? p.temperatureSp),
      advance: () => near(p.temperature, p.temperatureSp, 0.1),
      reports: () => ({ temperature: p.temperature }),
    },
  });
  const transfer = (): { parameters: string[]; logic: PhaseLogic } => {
    let moved = 0;
    return {
      parameters: ['volume'],
      logic: {
        begin: () => (moved = 0),
        advance: (dt, x) => {
          const step = Math.max(0, Math.min((50 / 60) * dt, (x.volume ?? 0) - moved)); // 50 L/min
          moved += step;
          p.volume = Math.max(0, p.volume - step);
          return moved >= (x.volume ?? 0) - 1e-6;
        },
        reports: () => ({ transferred: moved }),
      },
    };
  };
  switch (equipmentClass) {
    case 'BIOREACTOR': {
      let elapsed = 0;
      let temperatureSum = 0;
      let phSum = 0;
      let stable = 0;
      return {
        HEAT: heat(),
        TRANSFER: transfer(),
        AGITATE: {
          parameters: ['agitation'],
          logic: {
            begin: (x) => (p.agitationSp = x.agitation ?? p.agitationSp),
            advance: () => near(p.agitation, p.agitationSp, 1),
            reports: () => ({ agitation: p.agitation }),
          },
        },
        CONTROL: {
          parameters: ['ph', 'do', 'agitation'],
          logic: {
            begin: (x) => {
              p.phSp = x.ph ?? p.phSp;
              p.dissolvedOxygenSp = x.do ?? p.dissolvedOxygenSp;
              p.agitationSp = x.agitation ?? p.agitationSp;
              stable = 0;
            },
            advance: (dt) => {
              const settled =
                near(p.ph, p.phSp, 0.05) &&
                near(p.dissolvedOxygen, p.dissolvedOxygenSp, 2) &&
                near(p.agitation, p.agitationSp, 2);
              stable = settled ? stable + dt : 0;
              return stable >= 300; // five minutes steady
            },
            reports: () => ({ ph: p.ph, do: p.dissolvedOxygen }),
          },
        },
        CULTIVATE: {
          parameters: ['temperature', 'ph', 'do', 'duration'],
          logic: {
            begin: (x) => {
              p.temperatureSp = x.temperature ?? p.temperatureSp;
              p.phSp = x.ph ?? p.phSp;
              p.dissolvedOxygenSp = x.do ?? p.dissolvedOxygenSp;
              elapsed = temperatureSum = phSum = 0;
            },
            advance: (dt, x) => {
              elapsed += dt;
              temperatureSum += p.temperature * dt;
              phSum += p.ph * dt;
              return elapsed >= (x.duration ?? 0) * 3600;
            },
            reports: () => ({
              'temperature-mean': elapsed > 0 ? temperatureSum / elapsed : p.temperature,
              'ph-mean': elapsed > 0 ? phSum / elapsed : p.ph,
            }),
          },
        },
      };
    }
    case 'MIXER': {
      let mixed = 0;
      return {
        HEAT: heat(),
        TRANSFER: transfer(),
        FILL: {
          parameters: ['volume'],
          logic: {
            begin: () => (p.temperatureSp = 21),
            advance: (dt, x) => {
              p.volume = Math.min(x.volume ?? 0, p.volume + (100 / 60) * dt); // 100 L/min of WFI
              return p.volume >= (x.volume ?? 0) - 1e-6;
            },
            reports: () => ({ volume: p.volume, temperature: p.temperature }),
          },
        },
        MIX: {
          parameters: ['speed', 'time'],
          logic: {
            begin: (x) => {
              mixed = 0;
              p.agitationSp = x.speed ?? 0;
            },
            advance: (dt, x) => {
              mixed += dt;
              const done = mixed >= (x.time ?? 0) * 60;
              if (done) p.agitationSp = 0;
              return done;
            },
            reports: () => ({ time: mixed / 60 }),
          },
        },
      };
    }
    case 'SCALE':
      return {
        WEIGH: {
          parameters: ['target'],
          logic: {
            begin: () => {},
            advance: (dt, x) => {
              p.weight = Math.min(x.target ?? 0, p.weight + 2 * dt); // 2 kg/s as the operator pours
              return p.weight >= (x.target ?? 0) - 1e-6;
            },
            reports: () => ({ net: p.weight }),
          },
        },
        TARE: { parameters: [], logic: { begin: () => (p.weight = 0), advance: () => true, reports: () => ({}) } },
      };
    default:
      return {};
  }
}

/** A unit of the plant; a scale says its capacity and readability (kg). */
export interface PlantUnit {
  code: string;
  name: string;
  equipmentClass: string;
  scale?: ScaleSpec;
}

/** The demo plant: two scales of the dispensary, a floor scale for kilograms and a bench scale for grams. */
export const DEMO_UNITS: PlantUnit[] = [
  { code: 'BR-101', name: 'Production bioreactor 2000 L', equipmentClass: 'BIOREACTOR' },
  { code: 'MX-201', name: 'Buffer preparation tank 2000 L', equipmentClass: 'MIXER' },
  { code: 'MX-202', name: 'Harvest vessel 2000 L', equipmentClass: 'MIXER' },
  {
    code: 'SC-301',
    name: 'Floor scale 300 kg',
    equipmentClass: 'SCALE',
    scale: { capacity: 300, readability: 0.02 },
  },
  {
    code: 'SC-302',
    name: 'Bench scale 6 kg',
    equipmentClass: 'SCALE',
    scale: { capacity: 6, readability: 0.0001 },
  },
];
