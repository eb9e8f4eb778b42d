/**
 * The compiled Ampoule, as production runs it: `npm run build`, then `node --conditions=ampoule-compiled
 * dist/bin/ampoule.js` — no TypeScript at run time (Node 20 cannot load a .ts file: one required would stop the start),
 * the worker on the workflow bundle built ahead of time. A batch step waits for an operator and is completed, and the
 * process stops cleanly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startZeroSetup, stepAwaitingInput } from '../support/zero-setup';

const ROOT = path.resolve(__dirname, '../..');

test('built, started from dist/ with its prebuilt workflow bundle, it runs a batch step and stops cleanly', async () => {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe', timeout: 240_000 });
  const bundle = path.join(ROOT, 'dist', 'workflow-bundle.js');
  expect(existsSync(bundle)).toBe(true);
  // MESA's schemas travel with the compiled code (the B2MML import validates against them at run time).
  expect(
    existsSync(path.join(ROOT, 'dist/api/integration/schemas/b2mml-v0600/B2MML-V0600-ProductionSchedule.xsd')),
  ).toBe(true);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'ampoule-compiled-'));
  const started = startZeroSetup(
    [process.execPath, '--conditions=ampoule-compiled', path.join(ROOT, 'dist/bin/ampoule.js')],
    dataDir,
    { cwd: dataDir }, // nothing of the source tree beside it
  );
  const { child } = started;
  try {
    const url = await started.ready(90_000);
    const out = started.output();
    expect(out).toContain(`"workflowCode":"${bundle}"`);
    expect(out).not.toMatch(/tsx|\.ts:\d+/);
    const { batch, step, body, token } = await stepAwaitingInput(url);
    const r = await fetch(`${url}/api/batches/${batch}/steps/${step}/complete`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(200);
    child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);
