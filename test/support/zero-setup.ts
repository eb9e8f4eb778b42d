/** Driving a zero-setup Ampoule started as a process (`bin/ampoule`, or the compiled one), through its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { completion, dispense } from '../../demo/automated-operator';
import { until } from './wait';

export interface ZeroSetupProcess {
  child: ChildProcess;
  /** Everything it has written so far, standard output and error. */
  output(): string;
  /** Its exit code, once it exits. */
  exit: Promise<number | null>;
  /** Resolves to its base URL once it logs that its API is ready; rejects if it exits first. */
  ready(ms?: number): Promise<string>;
}

/**
 * Starts a zero-setup Ampoule (`command`: the executable and its arguments) on free ports, with the simulator's
 * standing faults off, its data under `dataDir`.
 */
export function startZeroSetup(command: string[], dataDir: string, o: { cwd?: string } = {}): ZeroSetupProcess {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: o.cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      AMPOULE_DATA_DIR: dataDir,
      PORT: '0',
      AMPOULE_TEMPORAL_PORT: '0',
      AMPOULE_SIMULATOR_PORT: '0',
      AMPOULE_SIMULATOR_FAULTS: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exit,
    ready: (ms = 60_000) =>
      until(
        () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${out}`);
          return /"url":"(http:\/\/[^"]+)\/api","docs"/.exec(out)?.[1];
        },
        ms,
        `"API ready" (output so far:\n${out})`,
      ),
  };
}

/** A PBS batch launched through the API of `url`, and its first step waiting for input, with what completes it. */
export async function stepAwaitingInput(url: string) {
  const login = async (username: string) =>
    (
      (await (
        await fetch(`${url}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username, password: 'ampoule-demo' }),
        })
      ).json()) as { token: string }
    ).token;
  const tokens = { planner: await login('planner'), operator1: await login('operator1') };
  const api = async (token: string, method: string, p: string, body?: unknown) => {
    const r = await fetch(`${url}/api${p}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return await r.json();
  };
  const lots: Record<string, string> = {};
  for (const lot of (await api(tokens.operator1, 'GET', '/lots?status=released&limit=1000')).items)
    lots[lot.materialCode] ??= lot.lotNumber;
  const launched = await api(tokens.planner, 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  const batch = launched.number as string;
  const plan = (await api(tokens.operator1, 'GET', `/batches/${batch}/steps`)) as { id: string }[];
  for (let i = 0; i < 200; i++) {
    const live = (await api(tokens.operator1, 'GET', `/batches/${batch}`)).live;
    const waiting = (live.steps as { id: string; status: string }[]).find((s) => s.status === 'awaiting-input');
    if (waiting) {
      const step = plan.find((p) => p.id === waiting.id)!;
      const { user, body } = completion(step, { lots, password: 'ampoule-demo' });
      const token = user === 'operator1' ? tokens.operator1 : await login(user);
      // A weighed salt is dispensed at a scale first (the zero-setup plant's simulated operator pours it).
      const request = async (_user: string, method: string, p: string, b?: unknown) => {
        const r = await fetch(`${url}/api${p}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, ...(b ? { 'Content-Type': 'application/json' } : {}) },
          body: b ? JSON.stringify(b) : undefined,
        });
        return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      if ((step as { weighed?: boolean }).weighed && !(await dispense(request, batch, step, user))) continue;
      return { batch, step: waiting.id, body, token };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`batch ${batch} has no step waiting for input`);
}
