/** What the page tests share: logging in through the login page, and the checks every page must pass. */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { DEMO_PASSWORD } from './batch-env';

export async function logIn(
  page: Page,
  baseUrl: string,
  username: string,
  station = 'Suite 2 · line 1',
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username or badge').fill(username);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByLabel('Station').fill(station);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/work-queue$/);
}

/** No WCAG 2.0/2.1 A or AA rule violated on the page as it stands. */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** Every button, link and field at least 44×44 CSS px (gloved hands). */
export async function expectLargeTargets(page: Page): Promise<void> {
  const small = await page.$$eval('a, button, input:not([type=hidden]), select, textarea', (els) =>
    els
      .filter((e) => (e as HTMLElement).offsetParent !== null)
      // A radio button's target is its label (a click on either chooses it).
      .map((e) => ({ what: e.outerHTML.slice(0, 80), box: (e.closest('label') ?? e).getBoundingClientRect() }))
      .filter(({ box }) => box.width < 44 || box.height < 44)
      .map(({ what, box }) => `${what} ${Math.round(box.width)}×${Math.round(box.height)}`),
  );
  expect(small).toEqual([]);
}

/** Signs the form whose dialog the button `opener` opens: the password again, then Sign. */
export async function sign(page: Page, opener: string, password = DEMO_PASSWORD): Promise<void> {
  await page.getByRole('button', { name: opener }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Your password (to sign)').fill(password);
  await dialog.getByRole('button', { name: 'Sign' }).click();
}

/**
 * No status by colour alone: everything the pages mark as abnormal (styled in the alarm colour) also says so with
 * a symbol a colour-blind reader or a monochrome screen shows.
 */
export async function expectNoColourAlone(page: Page): Promise<number> {
  const marked = await page.$$eval('.abnormal, .error', (els) =>
    els.map((e) => ({ what: e.outerHTML.slice(0, 100), text: e.textContent ?? '' })),
  );
  expect(marked.filter((m) => !/[⚠✗]/.test(m.text)).map((m) => m.what)).toEqual([]);
  return marked.length;
}
