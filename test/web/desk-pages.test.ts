/**
 * The desk pages in a real browser (Debian's Chromium through playwright-core), against the API's process: recipes
 * (import, the procedure tree, the signed lifecycle, the diff), lots (receipt, QA status, genealogy), the audit
 * trail's search, equipment and user administration — each checked with axe-core, each change made through the
 * page and seen through the API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startBatchEnv, type BatchEnv } from '../support/batch-env';
import { startBrowser, type TestBrowser } from '../support/browser';
import { expectAccessible, logIn as logInAt, sign } from '../support/pages';

let env: BatchEnv;
let browser: TestBrowser;

beforeAll(async () => {
  browser = await startBrowser();
  env = await startBatchEnv();
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
    // The author may not approve their own version, and is not offered to.
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
    const audit = (await request('qa1', 'GET', '/audit?entity=recipe-version&user=qa1&limit=100')).body.entries as {
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
