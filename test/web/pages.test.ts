/**
 * The web pages in a real browser (Debian's Chromium through playwright-core), against the API's process with
 * its batch worker, the embedded Temporal server and the equipment simulator: logging in (a badge scan types the
 * username), the live work queue, the shop-floor rules (who and where on every page, targets for gloved hands, the
 * idle warning, logout and a Back that shows nothing), the security (CSP without inline scripts, CSRF on every
 * change, the session cookie) and accessibility (axe-core: no WCAG 2.1 A/AA violation).
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Locator, Page } from 'playwright-core';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { startBrowser, type TestBrowser } from '../support/browser';
import { expectAccessible, expectLargeTargets, expectNoColourAlone, logIn as logInAt } from '../support/pages';
import { DEMO_STOCK, stockMaterials, valueFor } from '../../demo/automated-operator';
import { until } from '../support/wait';

let env: BatchEnv;
let browser: TestBrowser;

beforeAll(async () => {
  browser = await startBrowser();
  env = await startBatchEnv();
  await env.startWorker();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

const request = async (user: string, method: string, p: string, body?: unknown) =>
  env.api.request(method, p, body, { token: await env.token(user) });

const logIn = (page: Page, username: string, station?: string) => logInAt(page, env.api.url, username, station);

/** The mixers the earlier tests' batches hold, freed for a new launch: those batches aborted, the units cleaned. */
async function freeTheMixers(): Promise<void> {
  for (const b of (await request('qa1', 'GET', '/batches?status=running')).body.items as { number: string }[]) {
    await request('operator1', 'POST', `/batches/${b.number}/commands`, {
      command: 'abort',
      reason: 'test: free the mixers',
    });
    await until(async () => (await request('qa1', 'GET', `/batches/${b.number}`)).body.status === 'aborted');
  }
  for (const unit of ['MX-201', 'MX-202'])
    await request('operator1', 'POST', `/equipment/${unit}/status`, { cleanliness: 'clean', reason: 'cleaned' });
}

test('smoke: playwright-core drives Debian’s Chromium', async () => {
  const { context, page } = await browser.newPage();
  try {
    await page.setContent('<p id="x">hello</p>');
    expect(await page.textContent('#x')).toBe('hello');
    expect(browser.browser.version()).toMatch(/^\d+\./);
  } finally {
    await context.close();
  }
});

test('login: the page, a wrong password refused in words, then the work queue with who and where', async () => {
  const { context, page } = await browser.newPage();
  try {
    const response = await page.goto(`${env.api.url}/`);
    expect(page.url()).toMatch(/\/login$/);
    const csp = response!.headers()['content-security-policy'];
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(response!.headers()['cache-control']).toBe('no-store');
    await expectAccessible(page);
    await expectLargeTargets(page);

    await page.getByLabel('Username or badge').fill('operator1');
    await page.getByLabel('Password').fill('not the password');
    await page.getByLabel('Station').fill('Suite 2 · line 1');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/password/i);
    expect(page.url()).toMatch(/\/login$/);

    await logIn(page, 'operator1');
    const cookie = (await context.cookies()).find((c) => c.name === 'ampoule_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const header = await page.locator('header').textContent();
    expect(header).toContain('Olivia Operator (demo) (operator1)');
    expect(header).toContain('Station: Suite 2 · line 1');
    await expectAccessible(page);
    await expectLargeTargets(page);
  } finally {
    await context.close();
  }
});

test('live: a step the workflow makes ready shows in an open work queue within 2 s, without reloading', async () => {
  const { context, page } = await browser.newPage();
  try {
    await logIn(page, 'operator2');
    await page.evaluate(() => document.body.setAttribute('data-loaded-once', 'yes'));
    const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
    expect(launched.status).toBe(201);
    const row = page.locator(`tr[data-step="${launched.body.number}/add-nacl"]`);
    await row.waitFor({ timeout: 60_000 });
    const shownAt = Date.now();
    const item = (
      (await request('operator2', 'GET', '/work-queue')).body.items as {
        batch: string;
        stepId: string;
        since: string;
      }[]
    ).find((i) => i.batch === launched.body.number && i.stepId === 'add-nacl')!;
    const latency = shownAt - Date.parse(item.since);
    console.log(`work queue: step ready → shown in the open page in ${latency} ms`);
    expect(latency).toBeLessThan(2_000);
    // Not reloaded: the page is the one loaded before the batch existed.
    expect(await page.getAttribute('body', 'data-loaded-once')).toBe('yes');
    expect(await row.textContent()).toContain('Add sodium chloride');
    await expectAccessible(page);
  } finally {
    await context.close();
  }
});

test('CSRF: a change without the page’s token is refused, and changes nothing', async () => {
  const { context, page } = await browser.newPage();
  try {
    await logIn(page, 'operator1');
    const status = await page.evaluate(async () => {
      const r = await fetch('/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      return r.status;
    });
    expect(status).toBe(403);
    const forged = await page.evaluate(async () => {
      const r = await fetch('/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '_csrf=forged-token-of-the-right-length-000000000',
      });
      return r.status;
    });
    expect(forged).toBe(403);
    // A page action the user's roles do not allow (a planner completing a step) is refused like the API's.
    const { context: plannerContext, page: plannerPage } = await browser.newPage();
    await logIn(plannerPage, 'planner');
    const refused = await plannerPage.evaluate(async () => {
      const token = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
      const r = await fetch('/batches/B0000-00000/steps/x/complete', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': token },
        body: 'password=x',
      });
      return r.status;
    });
    expect(refused).toBe(403);
    await plannerContext.close();
    // Still logged in: the logout without a token did nothing.
    await page.goto(`${env.api.url}/work-queue`);
    expect(page.url()).toMatch(/\/work-queue$/);
  } finally {
    await context.close();
  }
});

test('logout on every page; after it, Back shows nothing of the previous user', async () => {
  const { context, page } = await browser.newPage();
  try {
    await logIn(page, 'operator1');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login\?ended=logout$/);
    expect(await page.getByRole('status').textContent()).toContain('You are logged out');
    await page.goBack();
    await page.waitForLoadState();
    expect(page.url()).toMatch(/\/login/);
    expect(await page.content()).not.toContain('Olivia Operator');
  } finally {
    await context.close();
  }
});

test('idle: a warning a minute before the session’s idle timeout; “Stay logged in” keeps it, silence ends it', async () => {
  const { context, page } = await browser.newPage();
  try {
    await page.clock.install();
    await logIn(page, 'operator1');
    const warning = page.getByRole('alertdialog');
    expect(await warning.isVisible()).toBe(false);
    await page.clock.runFor('14:01');
    await warning.waitFor({ state: 'visible' });
    expect(await warning.textContent()).toMatch(/logged out in \d+ seconds/);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Stay logged in' }).click();
    await warning.waitFor({ state: 'hidden' });
    await page.clock.runFor('15:01');
    await page.waitForURL(/\/login\?ended=idle$/);
  } finally {
    await context.close();
  }
});

test('idle, on the server: a page’s live stream and refreshes are not the user’s activity; a page request is', async () => {
  const { context, page } = await browser.newPage();
  try {
    await logIn(page, 'operator2');
    const { db } = env.api.services;
    const user = await db('users').where({ username: 'operator2' }).first();
    const session = () =>
      db('sessions').where({ user_id: user.id }).whereNull('ended_at').orderBy('created_at', 'desc').first();
    // As if the user had done nothing for a minute (last seen is written at most every 15 s).
    const aged = new Date(Date.now() - 60_000);
    await db('sessions')
      .where({ id: (await session()).id })
      .update({ last_seen_at: aged });
    await page.evaluate(async () => {
      await fetch('/work-queue/items', { headers: { 'X-Ampoule-Live': '1' } });
      const events = new EventSource('/events');
      await new Promise((r) => setTimeout(r, 1_500));
      events.close();
    });
    expect((await session()).last_seen_at.getTime()).toBe(aged.getTime());
    await page.reload();
    expect((await session()).last_seen_at.getTime()).toBeGreaterThan(aged.getTime());
  } finally {
    await context.close();
  }
});

test('a step at the line: who, what and where on the page; lot scans refused with their reason; signed with the password again; verified by a second person', async () => {
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const quarantined = await request('operator1', 'POST', '/lots', {
    material: 'NACL',
    quantity: 100,
    unit: 'kg',
    expiryDate: '2099-12-31',
    supplier: 'Test supplier',
    supplierLot: 'Q-1',
  });
  const expired = await request('operator1', 'POST', '/lots', {
    material: 'NACL',
    quantity: 100,
    unit: 'kg',
    expiryDate: '2024-06-30',
    supplier: 'Test supplier',
    supplierLot: 'X-1',
  });
  expect(expired.status).toBe(201);
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(launched.status).toBe(201);
  const batch = launched.body.number as string;
  const steps = (await request('qa1', 'GET', `/batches/${batch}/steps`)).body as {
    id: string;
    quantity?: { value: number };
  }[];
  const quantity = steps.find((x) => x.id === 'add-nacl')!.quantity!.value;

  const operator = await browser.newPage();
  const verifier = await browser.newPage();
  try {
    const page = operator.page;
    await logIn(page, 'operator1', 'Suite 2 · dispensing');
    const link = page.locator(`tr[data-step="${batch}/add-nacl"] a`);
    await link.waitFor({ timeout: 60_000 });
    await link.click();
    await page.waitForURL(new RegExp(`/batches/${batch}/steps/add-nacl$`));
    const shown = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
    for (const words of [batch, 'Phosphate-buffered saline 1X', 'PBS-1X version 1', 'Step 2: Add sodium chloride'])
      expect(shown).toContain(words);
    const header = (await page.locator('header').textContent())!;
    expect(header).toContain('Olivia Operator (demo) (operator1)');
    expect(header).toContain('Station: Suite 2 · dispensing');
    await expectAccessible(page);
    await expectLargeTargets(page);
    // Operator pages stay light: the scripts the step page loads, gzipped, at most 50 KB.
    const scripts = await page.$$eval('script[src]', (els) => els.map((e) => (e as HTMLScriptElement).src));
    let gzipped = 0;
    for (const src of scripts) gzipped += gzipSync(await (await page.request.get(src)).body()).length;
    console.log(`step page: ${scripts.length} scripts, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
    expect(gzipped).toBeLessThanOrEqual(50 * 1024);

    // The salt is weighed: take a scale (the finest usable one), tare it, and the dispensary's (simulated) operator
    // pours to the target the terminal shows; the live panel says when the weight is stable within the window.
    await page.getByRole('button', { name: 'Take the scale' }).click();
    await page.waitForURL(new RegExp(`/batches/${batch}/steps/add-nacl$`));
    expect(await page.locator('#dispensing-title').textContent()).toBe(`Dispense ${quantity} kg of NACL`);
    const live = page.locator('#scale-live');
    await live.getByText(/Stable/).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Tare' }).click();
    await live.getByText(/Stable · within the window/).waitFor({ timeout: 15_000 });
    expect(await live.locator('.net').textContent()).toBe(String(quantity));
    expect(await live.locator('meter').getAttribute('value')).toBe(String(quantity));
    await expectAccessible(page);

    const sign = async (scan: string | ((field: Locator) => Promise<void>), password = DEMO_PASSWORD) => {
      const field = page.getByLabel('Scan the lot label (or type the lot number)');
      if (typeof scan === 'string') await field.fill(scan);
      else await scan(field);
      await page.getByLabel('Scan the container').fill('IBC-0007');
      await page.getByRole('button', { name: 'Sign and record…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Electronic signature' });
      await dialog.waitFor();
      const said = (await dialog.innerText()).replace(/\s+/g, ' ');
      expect(said).toContain('Meaning performed');
      expect(said).toContain('Signed by Olivia Operator (demo) (operator1)');
      await dialog.getByLabel('Your password (to sign)').fill(password);
      await Promise.all([page.waitForNavigation(), dialog.getByRole('button', { name: 'Sign', exact: true }).click()]);
    };
    /** As a keyboard-wedge scanner types a GS1 label: its group separator as Ctrl+]. */
    const scanned = (before: string, after: string) => async (field: Locator) => {
      await field.fill('');
      await field.pressSequentially(before);
      await field.press('Control+BracketRight');
      await field.pressSequentially(after);
      expect(await field.inputValue()).toBe(`${before}\u001d${after}`);
    };
    // A quarantined lot, scanned as a GS1 label with parentheses: refused, and why.
    await sign(`(01)09501101530003(10)${quarantined.body.lotNumber as string}(17)991231`);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/quarantine/i);
    // An expired lot (its expiry date passed): refused, and why.
    await sign(`(01)09501101530003(10)${expired.body.lotNumber as string}`);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/expired/i);
    expect(await expectNoColourAlone(page)).toBeGreaterThan(0);
    // A lot of another material: refused, and why.
    await sign(lots.KCL);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/KCL|material/);
    // The right lot, as a scanner types it (group separator, Enter), but the wrong password: not signed.
    await sign(scanned(`0109501101530003${'10'}${lots.NACL}`, '21SERIAL7'), 'not my password');
    expect(await page.getByRole('alert').first().textContent()).toMatch(/password|signature/i);
    await sign(scanned(`0109501101530003${'10'}${lots.NACL}`, '21SERIAL7'));
    expect(page.url()).toMatch(/\?recorded=1$/);
    expect(await page.getByRole('status').textContent()).toContain('Recorded and signed');
    expect(await page.locator('main').textContent()).toContain('Waiting for verification');

    // What the record cannot see, reported from the step as a deviation.
    await page.getByRole('link', { name: 'Report an observation on this step' }).click();
    expect(await page.getByLabel('Where').inputValue()).toBe('add-nacl');
    await page.getByLabel('What was observed').fill('NaCl bag torn at the seam');
    await page.getByRole('button', { name: 'Report' }).click();
    await page.waitForURL(/\/deviations\/[^/]+\?done=raised$/);
    expect(await page.locator('.facts').textContent()).toMatch(/Open.*NaCl bag torn at the seam.*add-nacl/);
    const reported = (
      (await request('qa1', 'GET', `/deviations?batch=${batch}`)).body.items as {
        category: string;
        stepId: string;
        state: string;
      }[]
    )[0];
    expect(reported).toMatchObject({ category: 'reported', stepId: 'add-nacl', state: 'open' });

    // The second person: the verification waits in their verification queue (their unit's); they sign it.
    const other = verifier.page;
    await logIn(other, 'operator2', 'Suite 2 · dispensing');
    await other.getByLabel('Waiting for').selectOption('verification');
    await other.getByRole('button', { name: 'Show' }).click();
    await other.waitForURL(/awaiting=verification/);
    expect(await other.locator('h1').textContent()).toBe('Verification queue');
    const verification = other.locator(`tr[data-step="${batch}/add-nacl"]`);
    await verification.waitFor({ timeout: 10_000 });
    expect(await verification.textContent()).toContain('Verification by a second person');
    const unit = (await verification.locator('td').nth(3).textContent())!;
    expect(unit).toMatch(/^MX-20\d$/);
    const otherUnit = unit === 'MX-201' ? 'MX-202' : 'MX-201';
    await other.getByLabel('Unit (this station’s)').selectOption(otherUnit);
    await other.getByRole('button', { name: 'Show' }).click();
    await other.waitForURL(new RegExp(`unit=${otherUnit}`));
    expect(await other.locator('#queue').textContent()).not.toContain(batch);
    await other.getByLabel('Unit (this station’s)').selectOption(unit);
    await other.getByRole('button', { name: 'Show' }).click();
    await other.waitForURL(new RegExp(`unit=${unit}`));
    // The station remembers its unit.
    await other.goto(`${env.api.url}/work-queue`);
    expect(await other.getByLabel('Unit (this station’s)').inputValue()).toBe(unit);
    await verification.waitFor({ timeout: 10_000 });
    await expectAccessible(other);
    await verification.locator('a').click();
    await other.getByRole('button', { name: 'Verify and sign…' }).click();
    const dialog = other.getByRole('dialog', { name: 'Electronic signature' });
    expect((await dialog.innerText()).replace(/\s+/g, ' ')).toContain('Meaning verified');
    await expectAccessible(other);
    await dialog.getByLabel('Your password (to sign)').fill(DEMO_PASSWORD);
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    await other.waitForURL(/\?recorded=1$/);
    const record = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as {
      stepId: string;
      kind: string;
      signature?: { username: string; meaning: string };
    }[];
    expect(
      record
        .filter((e) => e.stepId === 'add-nacl' && e.signature)
        .map((e) => `${e.signature!.meaning}:${e.signature!.username}`),
    ).toEqual(['performed:operator1', 'verified:operator2']);
  } finally {
    await operator.context.close();
    await verifier.context.close();
  }
});

test('planner launches from the batches page; the overview shows the procedure tree and only the commands allowed now', async () => {
  await freeTheMixers();

  const planner = await browser.newPage();
  const operator = await browser.newPage();
  try {
    const page = planner.page;
    await logIn(page, 'planner', 'Planning office');
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.waitForURL(/\/batches$/);
    await expectAccessible(page);
    await page.getByLabel('Recipe (effective version)').selectOption('PBS-1X');
    await page.getByLabel(/Batch size/).fill('400');
    await page.getByLabel('Reason (optional)').fill('weekly buffer campaign');
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.waitForURL(/\/batches\/B\d{4}-\d{5}\?launched=1$/);
    const number = /\/batches\/(B\d{4}-\d{5})/.exec(page.url())![1];
    const overview = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
    expect(overview).toContain('Launched: its workflow runs.');
    expect(overview).toContain('PBS-1X version 1');
    expect(overview).toMatch(/1\. Fill 80 % of the WFI — /);
    // A planner commands nothing.
    expect(await page.getByRole('button', { name: 'Hold' }).count()).toBe(0);
    await expectAccessible(page);
    await expectLargeTargets(page);

    // An operator: Hold, Stop and Abort while it runs (not Restart); a hold needs its reason; then Restart.
    const other = operator.page;
    await logIn(other, 'operator1');
    await other.goto(`${env.api.url}/batches/${number}`);
    const buttons = async () => other.locator('form.commands button').allInnerTexts();
    await until(async () => (await request('qa1', 'GET', `/batches/${number}`)).body.status === 'running');
    await other.reload();
    expect(await buttons()).toEqual(['Hold', 'Stop', 'Abort']);
    await other.getByLabel('Reason for the command').fill('waiting for the pH meter');
    await other.getByRole('button', { name: 'Hold' }).click();
    await other.waitForURL(/\?commanded=hold$/);
    expect(await other.getByRole('status').textContent()).toContain('Hold: sent');
    expect(await buttons()).toEqual(['Restart', 'Stop', 'Abort']);
    expect((await request('qa1', 'GET', `/batches/${number}`)).body.status).toBe('held');
    expect(await other.locator('.step-id').textContent()).toContain('⚠ Held');
    expect(await expectNoColourAlone(other)).toBeGreaterThan(0);
    await expectAccessible(other);
    await other.getByLabel('Reason for the command').fill('pH meter calibrated');
    await other.getByRole('button', { name: 'Restart' }).click();
    await other.waitForURL(/\?commanded=restart$/);
    expect(await buttons()).toEqual(['Hold', 'Stop', 'Abort']);
  } finally {
    await planner.context.close();
    await operator.context.close();
  }
});

/** The README's screenshots, taken by this run when AMPOULE_SCREENSHOTS is set (then committed), each once. */
const SCREENSHOTS = path.resolve(__dirname, '../../docs/screenshots');
const taken = new Set<string>();
async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.AMPOULE_SCREENSHOTS || taken.has(name)) return;
  taken.add(name);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/**
 * The demo batch end to end through the pages: the planner launches it, two operators complete and verify every
 * step from their work queues, QA (the second QA person approves its step) reviews and releases it and opens the
 * record's PDF.
 */
test('the demo batch through the pages: launch, every step completed and verified, reviewed, released, its PDF opened', async () => {
  await freeTheMixers();
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const pages = Object.fromEntries(
    await Promise.all(
      ['planner', 'operator1', 'operator2', 'qa2', 'qa1'].map(async (user) => {
        const p = await browser.newPage();
        await logIn(p.page, user, 'Suite 2 · line 1');
        return [user, p] as const;
      }),
    ),
  );
  try {
    const planner = pages.planner.page;
    await planner.goto(`${env.api.url}/batches`);
    await planner.getByLabel('Recipe (effective version)').selectOption('PBS-1X');
    await planner.getByLabel(/Batch size/).fill('400');
    await planner.getByRole('button', { name: 'Launch' }).click();
    await planner.waitForURL(/\?launched=1$/);
    const batch = /\/batches\/(B\d{4}-\d{5})/.exec(planner.url())![1];
    await screenshot(planner, 'batch-overview');
    const plan = new Map(
      ((await request('qa1', 'GET', `/batches/${batch}/steps`)).body as Record<string, any>[]).map((s) => [s.id, s]), // eslint-disable-line @typescript-eslint/no-explicit-any
    );

    /** Signs the dialog the button opens, with the user's password. */
    const sign = async (page: Page, opener: string) => {
      await page.getByRole('button', { name: opener }).click();
      const dialog = page.getByRole('dialog', { name: 'Electronic signature' });
      await screenshot(page, 'step-signature');
      await dialog.getByLabel('Your password (to sign)').fill(DEMO_PASSWORD);
      await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
      await page.waitForURL(/\?recorded=1$/);
    };
    /** Whoever's queue shows a step of the batch next does it; returns false when no queue has one. */
    const workOnce = async (): Promise<boolean> => {
      for (const user of ['operator1', 'operator2', 'qa2']) {
        const page = pages[user].page;
        await page.goto(`${env.api.url}/work-queue`);
        const row = page.locator(`tr[data-step^="${batch}/"]`).first();
        if ((await row.count()) === 0) continue;
        await screenshot(page, 'work-queue');
        const stepId = (await row.getAttribute('data-step'))!.split('/')[1];
        const step = plan.get(stepId)!;
        await row.locator('a').click();
        await page.waitForURL(new RegExp(`/steps/${stepId}$`));
        if (await page.getByRole('button', { name: 'Verify and sign…' }).count()) {
          await sign(page, 'Verify and sign…');
          return true;
        }
        const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
        for (const f of fields) {
          const value = valueFor(f);
          if (f.type === 'passFail') await page.getByRole('radio', { name: 'Pass' }).first().check();
          else if (f.type === 'choice') await page.locator(`[name="value.${f.id}"]`).selectOption(String(value));
          else await page.locator(`[name="value.${f.id}"]`).fill(String(value));
        }
        if (step.kind === 'material' && step.weighed) {
          // At the scale: take it, tare it, and the material is poured to the target until it is stable.
          await page.getByRole('button', { name: 'Take the scale' }).click();
          await page.waitForURL(new RegExp(`/steps/${stepId}$`));
          const live = page.locator('#scale-live');
          await live.getByText(/Stable/).waitFor({ timeout: 10_000 });
          await page.getByRole('button', { name: 'Tare' }).click();
          await live.getByText(/Stable · within the window/).waitFor({ timeout: 15_000 });
          await page.getByLabel('Scan the lot label (or type the lot number)').fill(lots[step.material]);
          await page.getByLabel('Scan the container').fill(`BIN-${stepId}`);
        } else if (step.kind === 'material') {
          await page.getByLabel('Scan the lot label (or type the lot number)').fill(lots[step.material]);
          await page.getByLabel(/Quantity used/).fill(String(step.quantity.value));
        }
        await sign(page, 'Sign and record…');
        return true;
      }
      return false;
    };
    const started = Date.now();
    while ((await request('qa1', 'GET', `/batches/${batch}`)).body.status !== 'complete') {
      if (!(await workOnce())) await new Promise((r) => setTimeout(r, 200));
      if (Date.now() - started > 120_000) throw new Error(`batch ${batch} did not complete through the pages`);
    }

    // QA: the review by exception, signed; the release, signed; the record's PDF.
    const qa = pages.qa1.page;
    await qa.goto(`${env.api.url}/batches/${batch}/review`);
    expect(await qa.locator('main').innerText()).toMatch(/Investigation passed/);
    await screenshot(qa, 'qa-review');
    await expectAccessible(qa);
    await qa.getByLabel('I reviewed the batch’s audit trail').check();
    await qa.getByRole('button', { name: 'Sign the review…' }).click();
    let dialog = qa.getByRole('dialog', { name: 'Electronic signature' });
    await dialog.getByLabel('Your password (to sign)').fill(DEMO_PASSWORD);
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    await qa.waitForURL(/\?disposed=1$/);
    expect(await qa.getByRole('status').textContent()).toContain(`Batch ${batch} is reviewed`);
    await qa.getByRole('button', { name: 'Sign the release…' }).click();
    dialog = qa.getByRole('dialog', { name: 'Electronic signature' });
    await dialog.getByLabel('Your password (to sign)').fill(DEMO_PASSWORD);
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    await qa.waitForURL(/\?disposed=1$/);
    await qa.getByRole('button', { name: 'Sign the release…' }).waitFor({ state: 'detached' });
    expect(await qa.getByRole('status').textContent()).toContain(`Batch ${batch} is released`);
    expect((await request('qa1', 'GET', `/lots/${batch}`)).body.status).toBe('released');
    const pdf = await qa.request.get(
      await qa
        .getByRole('link', { name: 'The batch record (PDF)' })
        .getAttribute('href')
        .then((h) => `${env.api.url}${h}`),
    );
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
  } finally {
    for (const p of Object.values(pages)) await p.context.close();
  }
}, 240_000);

test('a deviation through its life in the pages: taken up, investigated and submitted by one QA person, closed signed by another', async () => {
  const batch = ((await request('qa1', 'GET', '/batches')).body.items as { number: string }[])[0].number;
  const raised = await request('operator1', 'POST', '/deviations', {
    batch,
    title: 'label printer smeared the lot numbers',
    description: 'seen at the line',
  });
  expect(raised.status).toBe(201);
  const number = raised.body.number as string;
  const investigator = await browser.newPage();
  const approver = await browser.newPage();
  try {
    const qa1 = investigator.page;
    await logIn(qa1, 'qa1');
    await qa1.getByRole('link', { name: 'Deviations' }).click();
    await qa1.waitForURL(/\/deviations$/);
    expect(await qa1.locator(`tr[data-deviation="${number}"]`).innerText()).toMatch(/Open/);
    await expectAccessible(qa1);
    await qa1.locator(`tr[data-deviation="${number}"] a`).click();
    await qa1.getByLabel('Severity').selectOption('minor');
    await qa1.getByRole('button', { name: 'Take it up' }).click();
    await qa1.waitForURL(/\?done=investigate$/);
    await qa1.getByLabel('Root cause').fill('worn print head');
    await qa1.getByLabel('Corrective action').fill('labels reprinted');
    await qa1.getByLabel('Preventive action').fill('print head on the maintenance plan');
    await qa1.getByRole('button', { name: 'Submit for approval' }).click();
    await qa1.waitForURL(/\?done=submit$/);
    expect(await qa1.locator('main').innerText()).toContain('Pending approval');
    await expectAccessible(qa1);
    await expectLargeTargets(qa1);

    const qa2 = approver.page;
    await logIn(qa2, 'qa2');
    await qa2.goto(`${env.api.url}/deviations/${number}`);
    await qa2.getByRole('button', { name: 'Sign the close…' }).click();
    const dialog = qa2.getByRole('dialog', { name: 'Electronic signature' });
    expect((await dialog.innerText()).replace(/\s+/g, ' ')).toContain('Meaning approved');
    await dialog.getByLabel('Your password (to sign)').fill(DEMO_PASSWORD);
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    await qa2.waitForURL(/\?done=close$/);
    const closed = (await qa2.locator('main').innerText()).replace(/\s+/g, ' ');
    expect(closed).toContain('Closed and signed.');
    expect(closed).toMatch(/signed by Quentin Quality \(demo\) \(qa2\), meaning approved/);
    expect((await request('qa1', 'GET', `/deviations/${number}`)).body.state).toBe('closed');
  } finally {
    await investigator.context.close();
    await approver.context.close();
  }
});
