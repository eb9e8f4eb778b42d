/**
 * `npm run demo:batch`: a demo batch from launch to release against a running Ampoule (`npm start`),
 * through the HTTP API only: the planner launches a PBS buffer batch, automated operators complete and
 * verify each step with their signatures, QA reviews the batch by exception and releases it.
 *
 *   npm run demo:batch -- [--url http://127.0.0.1:8080] [--recipe PBS-1X] [--size 500]
 */
import { operateBatch, type Request } from './automated-operator';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const url = arg('url', `http://127.0.0.1:${process.env.PORT ?? 8080}`);
  const password = process.env.AMPOULE_DEMO_PASSWORD ?? 'ampoule-demo';
  const tokens = new Map<string, string>();
  const request: Request = async (user, method, path, body) => {
    if (!tokens.has(user)) {
      const r = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: user, password }),
      });
      if (r.status !== 200) throw new Error(`logging in as ${user}: ${r.status} ${await r.text()}`);
      tokens.set(user, ((await r.json()) as Json).token);
    }
    const r = await fetch(`${url}/api${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokens.get(user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
  };
  const sign = (user: string, meaning: string) => ({ username: user, password, meaning });

  // The released lots the demo data holds, one per material.
  const lots: Record<string, string> = {};
  for (const lot of (await request('operator1', 'GET', '/lots?status=released&limit=1000')).body.items as Json[]) {
    if (lot.effectiveStatus === 'released' && lot.quantity > 0) lots[lot.materialCode] ??= lot.lotNumber;
  }

  const launched = await request('planner', 'POST', '/batches', {
    recipe: arg('recipe', 'PBS-1X'),
    batchSize: Number(arg('size', '500')),
    reason: 'demo batch',
  });
  if (launched.status !== 201) throw new Error(`launch: ${launched.status} ${JSON.stringify(launched.body)}`);
  const batch: string = launched.body.number;
  console.log(
    `planner launched batch ${batch} of ${launched.body.recipe.code} v${launched.body.recipe.version}, ${launched.body.batchSize.value} ${launched.body.batchSize.unit}, on ${Object.values(launched.body.units).join(', ')}`,
  );

  const status = await operateBatch(request, batch, {
    lots,
    password,
    onAction: (a) =>
      console.log(
        `  ${a.action === 'complete' ? 'completed' : 'verified '} ${a.stepId.padEnd(18)} (${a.ms.toFixed(0)} ms)`,
      ),
  });
  console.log(`batch ${batch} is ${status}`);
  if (status !== 'complete') process.exit(1);

  const review = (await request('qa1', 'GET', `/batches/${batch}/review`)).body;
  console.log(
    `QA reviews by exception: ${review.deviations.length} deviation(s), record chain ${review.chain.ok ? 'whole' : 'BROKEN'}, ${review.auditTrail.entries} audit entries`,
  );
  const reviewed = await request('qa1', 'POST', `/batches/${batch}/review`, {
    auditTrailReviewed: true,
    signature: sign('qa1', 'reviewed'),
  });
  if (reviewed.status !== 200) throw new Error(`review: ${JSON.stringify(reviewed.body)}`);
  const released = await request('qa1', 'POST', `/batches/${batch}/release`, { signature: sign('qa1', 'released') });
  if (released.status !== 200) throw new Error(`release: ${JSON.stringify(released.body)}`);
  const lot = (await request('qa1', 'GET', `/lots/${launched.body.outputLot}`)).body;
  console.log(
    `qa1 released batch ${batch}; output lot ${lot.lotNumber}: ${lot.quantity} ${lot.unit} ${lot.materialCode}, ${lot.status}`,
  );
  console.log(`the batch record: ${url}/api/batches/${batch}/ebr.pdf (log in as qa1 first)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
