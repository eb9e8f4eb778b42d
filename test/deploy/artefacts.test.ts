/**
 * The deployment files agree with Ampoule (they are checked for shape by deploy/check.sh in CI; no container engine
 * runs here): one image, Ampoule's own commands; only the migration gets the owner's credentials; probes on
 * /readyz and /healthz where each process serves them; a worker's heap at most 75 % of its memory limit (Temporal's
 * advice: the workflows' isolates live outside it); grace periods longer than the processes' own; no password written
 * into a file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { durationToMs, loadTemporalConfig } from '../../config/temporal-config';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.resolve(__dirname, '../..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');
const COMMANDS = ['api', 'worker', 'migrate'];
const heapMiB = (nodeOptions: string) => Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
const workerGraceMs = durationToMs(loadTemporalConfig(undefined, {}).worker.shutdownGraceTime);

test('Dockerfile: Debian slim (glibc), the compiled code, the compiled condition, a non-root user', () => {
  const dockerfile = read('Dockerfile');
  expect(dockerfile.match(/^FROM .*/gm)).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim']);
  expect(dockerfile).toMatch(/RUN npm run build/);
  expect(dockerfile).toMatch(/NODE_OPTIONS=--conditions=ampoule-compiled/);
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/bin\/ampoule.js"\]/);
});

test('compose: Ampoule’s processes from one image; the owner’s credentials for the migration only; probes; memory', () => {
  const compose = parse(read('deploy/compose/compose.yaml'), { merge: true }) as Json;
  const ampoule = Object.entries(compose.services as Json).filter(([name]) => name.startsWith('ampoule-'));
  expect(ampoule.map(([, s]) => s.command[0]).sort()).toEqual([...COMMANDS].sort());
  expect(new Set(ampoule.map(([, s]) => s.image)).size).toBe(1);
  for (const [name, s] of ampoule) {
    const env = s.environment as Json;
    if (s.command[0] === 'migrate') {
      expect(env.AMPOULE_MIGRATION_DATABASE_URL).toMatch(/^postgres:\/\/mes_owner:\$\{/);
      expect(env.DATABASE_URL).toBeUndefined();
      expect(s.command).toEqual(['migrate', '--grant-to', 'mes_login']);
    } else {
      expect([name, env.DATABASE_URL]).toEqual([name, expect.stringMatching(/^postgres:\/\/mes_login:\$\{/)]);
      expect(env.AMPOULE_MIGRATION_DATABASE_URL).toBeUndefined();
      expect(s.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${env.PORT}/readyz`);
      expect(s.depends_on['ampoule-migrate']).toEqual({ condition: 'service_completed_successfully' });
    }
  }
  const worker = compose.services['ampoule-worker'] as Json;
  expect(heapMiB(worker.environment.NODE_OPTIONS)).toBeLessThanOrEqual(0.75 * 2048);
  expect(worker.mem_limit).toBe('2g');
  expect(worker.environment.NODE_OPTIONS).toContain('--conditions=ampoule-compiled');
  // Every password from the environment, none written here.
  const text = read('deploy/compose/compose.yaml');
  for (const m of text.matchAll(/^\s+\w*(PASSWORD|PWD): *(.*)$/gm)) expect(m[2]).toMatch(/^\$\{\w+:\?/);
  for (const m of text.matchAll(/postgres:\/\/\w+:([^@]*)@/g)) expect(m[1]).toMatch(/^\$\{\w+:\?[^}]*\}$/);
  expect(compose.services.temporal.ports).toBeUndefined(); // Temporal not published, like a database
  expect(compose.services['temporal-ui'].environment.TEMPORAL_DISABLE_WRITE_ACTIONS).toBe('true');
});

test('kubernetes: one image; owner-url for the Job only; probes on each port; heap ≤ 75 % of the limit; grace', () => {
  const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as Json;
  const docs = (kustomization.resources as string[]).flatMap((f) =>
    parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJSON() as Json),
  );
  const workloads = docs.filter((d) => ['StatefulSet', 'Job', 'Deployment'].includes(d.kind));
  expect(workloads.map((w) => w.metadata.name).sort()).toEqual(['ampoule-api', 'ampoule-migrate', 'ampoule-worker']);
  for (const w of workloads) {
    const pod = w.spec.template.spec as Json;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [c] = pod.containers as Json[];
    expect(c.image).toBe('ampoule');
    expect(COMMANDS).toContain(c.args[0]);
    const secrets = (c.env as Json[]).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : []));
    expect(secrets).toEqual(c.args[0] === 'migrate' ? ['owner-url'] : ['url']);
    if (c.args[0] === 'migrate') continue;
    const port = (c.ports as Json[])[0].name;
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port });
    const env = Object.fromEntries((c.env as Json[]).map((e) => [e.name, e.value]));
    if (c.args[0] === 'worker') {
      expect(c.resources.limits.memory).toBe('2Gi');
      expect(heapMiB(env.NODE_OPTIONS)).toBeLessThanOrEqual(0.75 * 2048);
      expect(env.NODE_OPTIONS).toContain('--conditions=ampoule-compiled');
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(workerGraceMs);
    } else {
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(env.AMPOULE_SHUTDOWN_GRACE_SECONDS));
    }
  }
});
