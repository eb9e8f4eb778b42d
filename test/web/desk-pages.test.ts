/**
 * The desk pages in a real browser (Debian's Chromium through playwright-core), against the API's process: recipes
 * (import, the procedure tree, the signed lifecycle, the diff), lots (receipt, QA status, genealogy), the audit
 * trail's search, equipment and user administration — each checked with axe-core, each change made through the
 * page and seen through the API.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { requester } from '../support/long-batch';
import { until } from '../support/wait';
import { startBrowser, type TestBrowser } from '../support/browser';
import { expectAccessible, expectNoColourAlone, logIn as logInAt, sign } from '../support/pages';

let env: BatchEnv;
let browser: TestBrowser;

beforeAll(async () => {
  browser = await startBrowser();
  // A site whose units stop for a reason after 6 ms: the OEE page's stops, from a batch that runs in seconds.
  const oeeConfig = path.join(mkdtempSync(path.join(tmpdir(), 'ampoule-oee-')), 'oee.yaml');
  writeFileSync(
    oeeConfig,
    'timeZone: UTC\nshifts:\n  - { name: all-day, start: "00:00", end: "00:00" }\nmicroStopMinutes: 0.0001\n',
  );
  env = await startBatchEnv({ env: { AMPOULE_OEE_CONFIG: oeeConfig } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

const request = async (user: string, method: string, p: string, body?: unknown) =>
  env.api.request(method, p, body, { token: await env.token(user) });
const logIn = (page: Page, username: string) => logInAt(page, env.api.url, username, 'QA office');

/** Runs `body` on a new page of its own browser context, closed after. */
async function withPage(body: (page: Page) => Promise<void>): Promise<void> {
  const { context, page } = await browser.newPage();
  try {
    await body(page);
  } finally {
    await context.close();
  }
}

test('recipes: a changed file imported as a Draft, its tree, submitted and approved signed by two people, made effective, the diff; a page gone stale is refused', async () => {
  const file = JSON.parse(readFileSync(path.join(__dirname, '../../demo/recipes/pbs-buffer-1000l.json'), 'utf8'));
  const fill = file.definition.procedure.unitProcedures[0].operations[0].phases[0];
  fill.setpoints[0].high = 812;

  await withPage(async (page) => {
    await logIn(page, 'planner');
    await page.getByRole('link', { name: 'Recipes' }).click();
    expect(await page.locator('tr[data-recipe="PBS-1X"]').textContent()).toContain('v1 Effective');
    await expectAccessible(page);

    // A file that breaks a rule: refused with where, nothing created.
    const broken = structuredClone(file);
    broken.definition.batchSize.unit = 'litres';
    await page.getByLabel('Recipe file (JSON) to read').setInputFiles({
      name: 'pbs.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(broken)),
    });
    await page.getByLabel('Reason', { exact: true }).fill('wider WFI fill limit');
    await page.getByRole('button', { name: 'Import' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/\/batchSize\/unit/);
    expect((await request('qa1', 'GET', '/recipes/PBS-1X')).body.versions).toHaveLength(1);

    // The changed file: read from the picked file into the form, imported as v2, a Draft.
    await page.getByLabel('Recipe file (JSON) to read').setInputFiles({
      name: 'pbs.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(file)),
    });
    await page.getByLabel('Reason', { exact: true }).fill('wider WFI fill limit');
    await page.getByRole('button', { name: 'Import' }).click();
    await page.waitForURL(/\/recipes\/PBS-1X\/versions\/2\?done=import$/);
    expect(await page.locator('h1').textContent()).toBe('PBS-1X version 2: Draft');
    expect(await page.locator('li[data-phase="fill-wfi"]').textContent()).toMatch(
      /FILL: WFI volume 800 L \(limits 790–812 L\)/,
    );
    await expectAccessible(page);

    await sign(page, 'Submit for review…');
    await page.waitForURL(/done=submit$/);
    expect(await page.locator('h1').textContent()).toBe('PBS-1X version 2: In review');
    // A planner authors; reviewing is QA's, and the page does not offer it.
    expect(await page.getByRole('button', { name: 'Approve…' }).count()).toBe(0);
  });

  await withPage(async (page) => {
    await logIn(page, 'qa1');
    await page.goto(`${env.api.url}/recipes/PBS-1X/versions/2`);
    const stale = await page.context().newPage();
    await stale.goto(`${env.api.url}/recipes/PBS-1X/versions/2`);

    await sign(page, 'Approve…');
    await page.waitForURL(/done=approve$/);
    expect(await page.locator('h1').textContent()).toBe('PBS-1X version 2: Approved');
    expect(await page.locator('.facts').textContent()).toMatch(/approved by Quinn Quality \(demo\) \(qa1\)/);
    expect(await page.locator('.facts').textContent()).toMatch(/authored by Paul Planner \(demo\) \(planner\)/);

    // The other tab still shows it In review: its rejection is refused, and changes nothing.
    await stale.getByLabel('Reason', { exact: true }).fill('second thoughts');
    await sign(stale, 'Reject…');
    expect(await stale.getByRole('alert').textContent()).toMatch(/changed since this page showed it/);
    expect((await request('qa1', 'GET', '/recipes/PBS-1X/versions/2')).body.status).toBe('approved');

    await page.getByLabel('Reason', { exact: true }).first().fill('approved change control CC-2026-114');
    await page.getByRole('button', { name: 'Make effective' }).click();
    await page.waitForURL(/done=make-effective$/);
    expect(await page.locator('h1').textContent()).toBe('PBS-1X version 2: Effective');
    const recipe = (await request('qa1', 'GET', '/recipes/PBS-1X')).body;
    expect(recipe.effectiveVersion).toBe(2);
    expect(recipe.versions[0].status).toBe('superseded');
    const audit = (await request('qa1', 'GET', '/audit?entity=recipe-version&user=qa1&limit=100')).body.items as {
      reason: string | null;
    }[];
    expect(audit.some((e) => e.reason === 'approved change control CC-2026-114')).toBe(true);

    // The diff, as a reviewer reads it.
    await page.goto(`${env.api.url}/recipes/PBS-1X`);
    await page.getByRole('button', { name: 'Show what changed' }).click();
    const row = page.locator('tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/changed.*WFI volume.*810.*812/);
    await expectAccessible(page);
  });
});

/** One PBS batch run to complete by automated operators through the API (once; the tests after it share it). */
let finished: Promise<{ batch: string; lots: Record<string, string> }> | undefined;
function finishedBatch() {
  finished ??= (async () => {
    await env.startWorker();
    const lots = await stockMaterials(requester(env), DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
    const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
    expect(launched.status).toBe(201);
    const batch: string = launched.body.number;
    const operating = operateBatch(requester(env), batch, { lots, password: DEMO_PASSWORD });
    // Held and restarted on the way: the investigation pins it.
    const command = async (c: string, reason: string, want: string) => {
      expect((await request('operator1', 'POST', `/batches/${batch}/commands`, { command: c, reason })).status).toBe(
        200,
      );
      await until(async () => (await status()) === want);
    };
    const status = async () => (await request('qa1', 'GET', `/batches/${batch}`)).body.live.status as string;
    await until(async () => (await status()) === 'running');
    await command('hold', 'pump noise, checking', 'held');
    await command('restart', 'pump checked: fine', 'running');
    expect(await operating).toBe('complete');
    return { batch, lots };
  })();
  return finished;
}

test('lots: received through the page into Quarantine (bad input refused in words), released signed by QA, put on hold with a reason', async () => {
  await withPage(async (page) => {
    await logIn(page, 'operator1');
    await page.getByRole('link', { name: 'Lots' }).click();
    await expectAccessible(page);
    await page.getByLabel('Material').first().selectOption('KCL');
    await page.getByLabel('Quantity').fill('12,5,3');
    await page.getByLabel('Unit (UCUM, e.g. kg, g, L)').fill('kg');
    await page.getByLabel('Supplier', { exact: true }).fill('Salt & Co');
    await page.getByLabel('Supplier’s lot').fill('SC-7781');
    await page.getByLabel('Expiry date (empty: does not expire)').fill('2031-05-31');
    await page.getByRole('button', { name: 'Receive into Quarantine' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/quantity is a positive number/);
    // What was entered is kept.
    expect(await page.getByLabel('Supplier’s lot').inputValue()).toBe('SC-7781');
    await page.getByLabel('Quantity').fill('12.5');
    await page.getByRole('button', { name: 'Receive into Quarantine' }).click();
    await page.waitForURL(/\/lots\/[^/]+\?done=received$/);
    expect(await page.locator('.facts').textContent()).toMatch(
      /KCL.*12.5 kg.*⚠ Quarantine.*2031-05-31.*Salt & Co, supplier’s lot SC-7781/,
    );
    expect(await expectNoColourAlone(page)).toBeGreaterThan(0);
    // An operator receives but does not dispose.
    expect(await page.getByRole('button', { name: 'Release…' }).count()).toBe(0);
    await expectAccessible(page);
    const lotUrl = page.url().replace(/\?.*$/, '');

    const { context: qaContext, page: qa } = await browser.newPage();
    try {
      await logIn(qa, 'qa1');
      await qa.goto(lotUrl);
      await qa.locator('#status-released-reason').fill('CoA reviewed, identity test passed');
      await sign(qa, 'Release…');
      await qa.waitForURL(/done=released$/);
      expect(await qa.locator('.facts').textContent()).toMatch(/Status\s*Released/);
      expect(await qa.locator('table').first().textContent()).toMatch(
        /Quarantine → Released.*Quinn Quality \(demo\).*CoA reviewed, identity test passed.*released by Quinn Quality/,
      );
      await qa.locator('#status-quarantine-reason').fill('supplier complaint SC-12');
      await qa.getByRole('button', { name: 'Make it Quarantine' }).click();
      await qa.waitForURL(/done=quarantine$/);
      const number = lotUrl.split('/').pop()!;
      expect((await request('qa1', 'GET', `/lots/${number}`)).body.status).toBe('quarantine');
      await expectAccessible(qa);
    } finally {
      await qaContext.close();
    }
  });
});

/** A whole batch is run first (once, shared by the tests after): 20 s alone, much longer beside the other suites in CI. */
const WITH_A_BATCH = 240_000;

test(
  'lots: the genealogy both ways, from the batch’s lot and from what it consumed',
  async () => {
    const { batch, lots } = await finishedBatch();
    const produced = ((await request('qa1', 'GET', '/lots?material=PBS-1X')).body.items as { lotNumber: string }[])[0];
    await withPage(async (page) => {
      await logIn(page, 'qa1');
      await page.goto(`${env.api.url}/lots/${produced.lotNumber}`);
      const backward = page.locator('section[aria-labelledby="backward-title"]');
      expect(await backward.textContent()).toContain(`made by batch ${batch}`);
      expect(await backward.locator(`li[data-lot="${lots.NACL}"]`).textContent()).toMatch(/kg of lot .* \(NACL\)/);
      await expectAccessible(page);
      await backward.locator(`li[data-lot="${lots.NACL}"] a`).first().click();
      const forward = page.locator('section[aria-labelledby="forward-title"]');
      expect(await forward.textContent()).toContain(`used by batch ${batch}, which made`);
      expect(await forward.locator(`li[data-lot="${produced.lotNumber}"]`).count()).toBe(1);
      expect(await page.locator('table').nth(1).textContent()).toMatch(
        new RegExp(`consumption-3.2 kg.*batch ${batch} · add-nacl`),
      );
    });
  },
  WITH_A_BATCH,
);

test(
  'investigation: from the batch, the verdict, the hold pinned, the history step by step, and the whole history one click further; the look audited',
  async () => {
    const { batch, lots } = await finishedBatch();
    await withPage(async (page) => {
      await logIn(page, 'qa2');
      await page.goto(`${env.api.url}/batches/${batch}`);
      await page.getByRole('link', { name: 'Investigation: the history, replayed' }).click();
      // The whole verdict section on a failure: which of code, archive and record disagreed — and, for the record,
      // which entries and fields.
      const verdict = await page.locator('section[aria-labelledby="verdict-title"]').textContent();
      const mismatches = /^Verdict: ✓ pass/.test(verdict ?? '')
        ? []
        : ((await request('qa1', 'GET', `/batches/${batch}/cross-check`)).body.entries as { verdict: string }[]).filter(
            (e) => e.verdict !== 'match',
          );
      expect({ verdict, mismatches }).toEqual({ verdict: expect.stringMatching(/^Verdict: ✓ pass/), mismatches: [] });
      const pinned = page.locator('ul.pinned');
      expect(await pinned.locator('li[data-pinned="hold"]').textContent()).toMatch(
        /Hold or stop · event \d+, .* UTC: Hold by Olivia Operator \(demo\): pump noise, checking/,
      );
      expect(await pinned.locator('li[data-pinned="command"]').textContent()).toMatch(
        /Restart by .*pump checked: fine/,
      );
      const nacl = page.locator('section[data-timeline-step="add-nacl"]');
      expect(await nacl.locator('h3').textContent()).toMatch(/Add sodium chloride — record ✓ matches/);
      expect(await nacl.textContent()).toMatch(/Completed by Olivia Operator \(demo\)/);
      expect(await page.locator('section[data-timeline-step="fill-wfi"]').textContent()).toMatch(
        /runEquipmentPhase scheduled: fill-wfi · .* — FILL on MX-20\d.*runEquipmentPhase completed/,
      );
      await expectAccessible(page);

      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes(`/api/batches/${batch}/history`)),
        page.getByRole('link', { name: 'The whole history (readable)' }).click(),
      ]);
      expect(response.status()).toBe(200);
      const history = (await response.json()) as { events: { eventType: string }[] };
      expect(history.events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');

      // The record itself, in the same words as its PDF.
      await page.goto(`${env.api.url}/batches/${batch}`);
      await page.getByRole('link', { name: 'The batch record', exact: true }).click();
      const recorded = page.locator('section[data-record-step="add-nacl"]');
      expect(await recorded.textContent()).toMatch(
        new RegExp(
          `${lots.NACL}\\s*3\\.2\\s*kg.*Performed — signed by Olivia Operator \\(demo\\) \\(operator1\\), meaning: performed`,
        ),
      );
      expect(await recorded.textContent()).toMatch(/Verified — signed by Oscar Operator/);
      expect(await page.locator('.facts').textContent()).toMatch(/✓ the hash chain of \d+ entries is whole/);
      await expectAccessible(page);
    });
    const audit = (await request('qa1', 'GET', '/audit?entity=batch&action=replay&user=qa2')).body.items as {
      newValue: { verdict: string };
    }[];
    expect(audit.map((e) => e.newValue.verdict)).toEqual(['pass']);
  },
  WITH_A_BATCH,
);

test(
  'equipment: the units with their condition, one unit’s state history, cleanliness set with a reason; a page gone stale refused',
  async () => {
    await finishedBatch(); // the mixer has a history of phases
    await withPage(async (page) => {
      await logIn(page, 'operator2');
      await page.getByRole('link', { name: 'Equipment' }).click();
      expect(await page.locator('tr[data-unit="MX-201"]').textContent()).toMatch(/MIXER/);
      await expectAccessible(page);
      await page.getByRole('link', { name: 'MX-201' }).click();
      expect(await page.locator('table').textContent()).toMatch(/FILL\s*complete/i);
      const stale = await page.context().newPage();
      await stale.goto(page.url());

      // The batch left the mixer dirty: cleaned.
      expect(await page.locator('.facts').textContent()).toMatch(/⚠ Available, dirty/);
      await page.getByLabel('Cleanliness').selectOption('clean');
      await page.getByLabel('Reason').fill('cleaned per SOP-CL-004');
      await page.getByRole('button', { name: 'Set', exact: true }).click();
      await page.waitForURL(/done=1$/);
      expect(await page.locator('.facts').textContent()).toMatch(/Condition\s*Available, clean/);
      expect((await request('qa1', 'GET', '/equipment/MX-201')).body.cleanliness).toBe('clean');
      await expectAccessible(page);

      // The other tab still shows it dirty: its change is refused, and changes nothing.
      await stale.getByLabel('Status').selectOption('maintenance');
      await stale.getByLabel('Reason').fill('inspection');
      await stale.getByRole('button', { name: 'Set', exact: true }).click();
      expect(await stale.getByRole('alert').textContent()).toMatch(/changed since this page showed it/);
      expect((await request('qa1', 'GET', '/equipment/MX-201')).body.status).toBe('available');

      await page.getByLabel('Cleanliness').selectOption('dirty');
      await page.getByLabel('Reason').fill('spill during sampling');
      await page.getByRole('button', { name: 'Set', exact: true }).click();
      await page.waitForURL(/done=1$/);
      expect(await page.locator('.facts').textContent()).toMatch(/⚠ Available, dirty/);
      expect(await expectNoColourAlone(page)).toBeGreaterThan(0);
      expect(await page.locator('table').textContent()).toMatch(/the unit\s*dirty.*the unit\s*clean/);
    });
  },
  WITH_A_BATCH,
);

test('audit trail: searched by what, action and time, each change in words with its reason; paged; exported as CSV; a bad time refused', async () => {
  await withPage(async (page) => {
    await logIn(page, 'qa2');
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await expectAccessible(page);
    // Unfiltered, 25 a page: a page, then the next.
    await page.getByLabel('Entries per page').selectOption('25');
    await page.getByRole('button', { name: 'Search' }).click();
    const firstSeqs = await page
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-audit'))));
    expect(firstSeqs).toHaveLength(25);
    await page.getByRole('link', { name: 'Next entries' }).click();
    const nextSeq = Number(await page.locator('tbody tr').first().getAttribute('data-audit'));
    expect(nextSeq).toBeGreaterThan(Math.max(...firstSeqs));

    await page.goto(`${env.api.url}/audit`);
    await page.getByLabel('What (entity type)').fill('equipment-unit');
    await page.getByLabel('Which (its id or number)').fill('MX-201');
    await page.getByLabel('From (UTC)').fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('tbody').textContent()).toMatch(
      /Oscar Operator \(demo\) \(operator2\).*equipment-unit MX-201.*cleanliness: clean → dirty.*spill during sampling/,
    );
    const csv = await page.getByRole('link', { name: /Export this search as CSV/ }).getAttribute('href');
    expect(csv).toMatch(/^\/api\/audit\?entity=equipment-unit&entityId=MX-201&from=.*format=csv/);
    const exported = await page.request.get(`${env.api.url}${csv}`);
    expect(exported.headers()['content-type']).toMatch(/^text\/csv/);
    expect(await exported.text()).toContain('spill during sampling');

    for (const from of ['yesterday', '2024-13-01T25:00']) {
      await page.goto(`${env.api.url}/audit?from=${from}`);
      expect(await page.getByRole('alert').textContent()).toMatch(/From is a date and time/);
    }
  });
});

test('users: an administrator creates a user (the password policy in words), sets roles, unlocks, sets a password, deactivates; others see no Users', async () => {
  await withPage(async (page) => {
    await logIn(page, 'operator1');
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);
    expect((await page.goto(`${env.api.url}/admin/users`))!.status()).toBe(403);
  });
  await withPage(async (page) => {
    await logIn(page, 'admin');
    await page.getByRole('link', { name: 'Users' }).click();
    await expectAccessible(page);
    await page.getByLabel('Username').fill('alice.smith');
    await page.getByLabel('Printed name (as signatures show it)').fill('Alice Smith');
    await page.getByLabel('operator').check();
    await page.getByLabel('Initial password').fill('short');
    await page.getByLabel('Reason').fill('new starter, training record TR-2291');
    await page.getByRole('button', { name: 'Create the user' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/at least 12 characters/);
    expect(await page.getByLabel('Username').inputValue()).toBe('alice.smith');
    await page.getByLabel('Initial password').fill('a long initial password 1');
    await page.getByRole('button', { name: 'Create the user' }).click();
    await page.waitForURL(/\/admin\/users\/[0-9a-f-]+\?done=created$/);
    const userUrl = page.url().replace(/\?.*$/, '');

    // Locked by wrong passwords; unlocked by the administrator.
    for (let i = 0; i < 5; i++)
      await env.api.request('POST', '/auth/login', { username: 'alice.smith', password: 'wrong password!' });
    await page.goto(userUrl);
    expect(await page.locator('.facts').textContent()).toMatch(/⚠ Active, locked until/);
    await page.locator('#unlock-reason').fill('identity confirmed by phone');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.waitForURL(/done=unlock$/);
    expect(await page.locator('.facts').textContent()).toMatch(/State\s*Active/);

    await page.locator('#edit-role-qa').check();
    await page.locator('#roles-reason').fill('QA training complete');
    await page.getByRole('button', { name: 'Set the roles' }).click();
    await page.waitForURL(/done=roles$/);
    expect(await page.locator('.facts').textContent()).toMatch(/Roles\s*operator, qa/);

    await page.getByLabel('New password').fill('another long password 2');
    await page.locator('#password-reason').fill('forgotten');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.waitForURL(/done=password$/);
    const login = await env.api.request('POST', '/auth/login', {
      username: 'alice.smith',
      password: 'another long password 2',
    });
    expect(login.status).toBe(200);

    // A form whose field comes twice is refused in words, and changes nothing.
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const rowVersion = await page
      .locator('#deactivate-reason')
      .locator('xpath=../..')
      .locator('input[name="rowVersion"]')
      .inputValue();
    const twice = await page.request.post(`${userUrl}/deactivate`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      data: new URLSearchParams([
        ['_csrf', csrf],
        ['rowVersion', rowVersion],
        ['reason', 'one'],
        ['reason', 'two'],
      ]).toString(),
    });
    expect(twice.status()).toBe(422);
    expect(await twice.text()).toContain('more than once');
    expect((await request('admin', 'GET', `/users/${userUrl.split('/').pop()!}`)).body.active).toBe(true);

    await page.locator('#deactivate-reason').fill('left the company');
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.waitForURL(/done=deactivate$/);
    expect(await page.locator('.facts').textContent()).toMatch(/⚠ Deactivated/);
    expect(await expectNoColourAlone(page)).toBeGreaterThan(0);
    const after = await env.api.request('POST', '/auth/login', {
      username: 'alice.smith',
      password: 'another long password 2',
    });
    expect(after.status).toBe(401);
    const trail = (await request('qa1', 'GET', '/audit?entity=user&user=admin&limit=100')).body.items as {
      action: string;
      reason: string;
    }[];
    expect(trail.map((e) => `${e.action}: ${e.reason}`)).toEqual(
      expect.arrayContaining([
        'create: new starter, training record TR-2291',
        'unlock: identity confirmed by phone',
        'update: QA training complete',
        'reset-password: forgotten',
        'deactivate: left the company',
      ]),
    );
    await expectAccessible(page);

    // An administrator is not offered to deactivate themselves.
    await page.goto(`${env.api.url}/admin/users`);
    await page.getByRole('link', { name: 'admin', exact: true }).click();
    await page.waitForURL(/\/admin\/users\/[0-9a-f-]+$/);
    expect(await page.locator('h1').textContent()).toBe('Ada Admin (demo) (admin)');
    expect(await page.getByRole('button', { name: 'Set the roles' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Deactivate' }).count()).toBe(0);
  });
});

test(
  'OEE: the dashboard shows the API’s figures for the same window; a stop given its reason from the page',
  async () => {
    const { batch } = await finishedBatch();
    const second = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    const from = second(Date.now() - 3_600_000);
    const to = second(Date.now() + 1_000); // a window wholly past once it is read: the page and the API see the same
    await new Promise((r) => setTimeout(r, 2_000));
    const api = (await request('qa1', 'GET', `/oee?unit=MX-201&from=${from}Z&to=${to}Z&by=batch`)).body as {
      total: Record<string, number | null>;
      periods: { label: string; oee: number | null }[];
    };
    const percent = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
    await withPage(async (page) => {
      await logIn(page, 'operator1');
      await page.getByRole('link', { name: 'OEE' }).click();
      await page.getByLabel('Unit').selectOption('MX-201');
      await page.getByLabel('From (UTC)').fill(from);
      await page.getByLabel('To (UTC)').fill(to);
      await page.getByLabel('By').selectOption('batch');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/by=batch/);
      for (const kpi of ['availability', 'effectiveness', 'qualityRatio', 'oee'])
        expect([kpi, await page.locator(`[data-kpi="${kpi}"]`).textContent()]).toEqual([kpi, percent(api.total[kpi])]);
      expect(await page.locator(`tr[data-period="${batch}"]`).count()).toBe(1);
      expect(await page.locator('table.waterfall').textContent()).toMatch(/= actual production time \(APT\)/);
      await expectAccessible(page);

      // A stop without a reason, given one here: the Pareto shows it under its loss.
      const stop = page.locator('ul.stops li', { hasText: 'no reason yet' }).first();
      const start = await stop.getAttribute('data-stop');
      await stop.getByLabel('Reason').selectOption('small-stops/waiting-material');
      await stop.getByRole('button', { name: 'Give the reason' }).click();
      await page.waitForURL(/done=1/);
      expect(await page.getByRole('status').textContent()).toContain('The reason is recorded');
      expect(await page.locator(`ul.stops li[data-stop="${start}"]`).textContent()).toContain(
        'small-stops/waiting-material',
      );
      expect(await page.locator('tr[data-loss="small-stops/waiting-material"]').textContent()).toMatch(
        /Small stops \(idling, minor stoppages\) › Waiting for material/,
      );
      expect(await expectNoColourAlone(page)).toBeGreaterThanOrEqual(0);
    });
  },
  WITH_A_BATCH,
);
