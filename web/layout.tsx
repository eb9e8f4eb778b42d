/**
 * The frame of every page: who is logged in and at which station, a navigation showing only what the user's roles
 * allow, a logout on every page, and the idle warning before the session ends. The pages' one script and htmx are
 * loaded from this origin (the Content-Security-Policy allows no inline script); the CSRF token rides in a meta
 * tag, which the script hands to every htmx request.
 */
import type { ComponentChildren } from 'preact';
import { render } from 'preact-render-to-string';
import type { UserActor } from '../db/change-context';
import { rolesGrant, type Permission } from '../api/auth/permissions';
import { CSRF_FIELD } from './csrf';

/** A page the navigation offers, and the permission it needs. */
const NAVIGATION: { href: string; label: string; permission: Permission | 'authenticated' }[] = [
  { href: '/work-queue', label: 'Work queue', permission: 'authenticated' },
  { href: '/orders', label: 'Orders', permission: 'orders.read' },
  { href: '/batches', label: 'Batches', permission: 'batches.read' },
  { href: '/deviations', label: 'Deviations', permission: 'deviations.read' },
  { href: '/recipes', label: 'Recipes', permission: 'recipes.read' },
  { href: '/lots', label: 'Lots', permission: 'lots.read' },
  { href: '/equipment', label: 'Equipment', permission: 'equipment.read' },
  { href: '/oee', label: 'OEE', permission: 'oee.read' },
  { href: '/audit', label: 'Audit trail', permission: 'audit.read' },
  { href: '/webhooks', label: 'Webhooks', permission: 'webhooks.manage' },
  { href: '/admin/users', label: 'Users', permission: 'users.read' },
];

/** htmx without eval or inline styles (the CSP allows neither), and only to this origin. */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  historyCacheSize: 0, // a shared station's Back must not show the previous user's pages
});

export interface PageContext {
  actor: UserActor;
  station: string;
  csrf: string;
  /** The session's idle timeout, for the warning before it ends. */
  idleSeconds: number;
  /** The path of the page, for the navigation's current item. */
  path: string;
}

export function page(title: string, body: ComponentChildren, ctx?: PageContext): string {
  return `<!doctype html>${render(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Ampoule`}</title>
        {ctx && <meta name="csrf-token" content={ctx.csrf} />}
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/htmx.min.js" defer />
        <script src="/static/app.js" defer />
      </head>
      <body data-idle-seconds={ctx ? String(ctx.idleSeconds) : undefined}>
        {ctx && <Header ctx={ctx} />}
        <main id="main">{body}</main>
        {ctx && <IdleWarning />}
      </body>
    </html>,
  )}`;
}

function Header({ ctx }: { ctx: PageContext }) {
  const items = NAVIGATION.filter((n) => n.permission === 'authenticated' || rolesGrant(ctx.actor.roles, n.permission));
  return (
    <header class="top">
      <a class="brand" href="/">
        Ampoule
      </a>
      <nav aria-label="Main">
        <ul>
          {items.map((n) => (
            <li>
              <a
                href={n.href}
                aria-current={ctx.path === n.href || ctx.path.startsWith(`${n.href}/`) ? 'page' : undefined}
              >
                {n.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <p class="who">
        <span>
          Logged in: <strong>{ctx.actor.fullName}</strong> ({ctx.actor.username})
        </span>
        <span>
          Station: <strong>{ctx.station}</strong>
        </span>
      </p>
      <form method="post" action="/logout" class="logout">
        <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
        <button type="submit">Log out</button>
      </form>
    </header>
  );
}

function IdleWarning() {
  return (
    <div id="idle-warning" role="alertdialog" aria-modal="true" aria-labelledby="idle-title" hidden>
      <h2 id="idle-title">Still there?</h2>
      <p>
        You will be logged out in <strong id="idle-countdown">60</strong> seconds for inactivity.
      </p>
      <button type="button" id="idle-stay">
        Stay logged in
      </button>
    </div>
  );
}

/** A page saying what went wrong, in words (no stack, no problem+json). */
export function errorPage(message: string): string {
  return page(
    'Error',
    <section>
      <h1>Not possible</h1>
      <p role="alert">{message}</p>
      <p>
        <a href="/">Back to Ampoule</a>
      </p>
    </section>,
  );
}

/** What became of the user's last action on a page: done (a status), or refused (an alert, with a symbol). */
export function Outcome({ done, problem }: { done?: string; problem?: string }) {
  return (
    <>
      {done && (
        <p class="notice" role="status">
          ✓ {done}
        </p>
      )}
      {problem && (
        <p class="error" role="alert">
          <span aria-hidden="true">⚠ </span>
          {problem}
        </p>
      )}
    </>
  );
}
