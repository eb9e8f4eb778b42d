/**
 * User administration (administrators): the users with their roles, whether active, locked, and when they last
 * logged in; a new user; and one user — roles, deactivate or reactivate, unlock, a new password — each with a
 * reason, audited. Usernames are never reused; an administrator cannot deactivate themselves.
 */
import type { ComponentChildren } from 'preact';
import type { PublicUser } from '../../api/users/user-service';
import { utcText } from '../../domain/batch/record-text';
import { ROLES } from '../../domain/identity';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

const userPath = (u: PublicUser) => `/admin/users/${encodeURIComponent(u.id)}`;

function UserState({ user }: { user: PublicUser }) {
  const words = [user.active ? 'Active' : 'Deactivated', user.locked ? 'locked' : ''].filter(Boolean).join(', ');
  const abnormal = !user.active || user.locked;
  return (
    <span class={abnormal ? 'status abnormal' : 'status'}>
      {abnormal && <span aria-hidden="true">⚠ </span>}
      {words}
    </span>
  );
}

function RoleChoices({ prefix, chosen }: { prefix: string; chosen: readonly string[] }) {
  return (
    <fieldset>
      <legend>Roles</legend>
      {ROLES.map((r) => (
        <label class="choice" for={`${prefix}-role-${r}`}>
          <input id={`${prefix}-role-${r}`} type="checkbox" name="roles" value={r} checked={chosen.includes(r)} />
          {r}
        </label>
      ))}
    </fieldset>
  );
}

export function usersPage(
  ctx: PageContext,
  o: { users: PublicUser[]; problem?: string; entered?: Record<string, string | string[]> },
): string {
  const e = o.entered ?? {};
  const text = (k: string) => (typeof e[k] === 'string' ? e[k] : '');
  return page(
    'Users',
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <table class="queue">
        <caption>Every user, deactivated ones too (usernames are never reused)</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Printed name</th>
            <th scope="col">Roles</th>
            <th scope="col">State</th>
            <th scope="col">Last login (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {o.users.map((u) => (
            <tr data-user={u.username}>
              <td>
                <a href={userPath(u)}>{u.username}</a>
              </td>
              <td>{u.fullName}</td>
              <td>{u.roles.join(', ')}</td>
              <td>
                <UserState user={u} />
              </td>
              <td>{u.lastLoginAt ? utcText(u.lastLoginAt) : 'never'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href="/api/users/access-review?format=csv">The access review (CSV)</a>
      </p>
      <form method="post" action="/admin/users" class="entry" aria-labelledby="new-user-title">
        <h2 id="new-user-title">A new user</h2>
        <Outcome problem={o.problem} />
        <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
        <p>
          <label for="new-username">Username</label>
          <input id="new-username" name="username" required maxLength={64} value={text('username')} />
        </p>
        <p>
          <label for="new-full-name">Printed name (as signatures show it)</label>
          <input id="new-full-name" name="fullName" required maxLength={200} value={text('fullName')} />
        </p>
        <p>
          <label for="new-email">Email (optional)</label>
          <input id="new-email" name="email" type="email" maxLength={320} value={text('email')} />
        </p>
        <RoleChoices prefix="new" chosen={Array.isArray(e.roles) ? e.roles : text('roles') ? [text('roles')] : []} />
        <p>
          <label for="new-password">Initial password</label>
          <input id="new-password" name="password" type="password" autocomplete="new-password" required />
        </p>
        <p>
          <label for="new-reason">Reason</label>
          <input id="new-reason" name="reason" required maxLength={2000} value={text('reason')} />
        </p>
        <button type="submit" class="primary">
          Create the user
        </button>
      </form>
    </section>,
    ctx,
  );
}

export function userPage(ctx: PageContext, u: PublicUser, o: { problem?: string; done?: string }): string {
  const base = userPath(u);
  const self = ctx.actor.userId === u.id;
  const Form = ({ action, title, children }: { action: string; title: string; children: ComponentChildren }) => (
    <form method="post" action={`${base}/${action}`} class="entry">
      <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
      <input type="hidden" name="rowVersion" value={String(u.rowVersion)} />
      <h2>{title}</h2>
      {children}
      <p>
        <label for={`${action}-reason`}>Reason</label>
        <input id={`${action}-reason`} name="reason" required maxLength={2000} />
      </p>
    </form>
  );
  return page(
    u.username,
    <article aria-labelledby="user-title">
      <h1 id="user-title">
        {u.fullName} ({u.username})
      </h1>
      <Outcome done={o.done} problem={o.problem} />
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <UserState user={u} />
          {u.locked && u.lockedUntil ? ` until ${utcText(u.lockedUntil)}` : ''}
        </dd>
        <dt>Roles</dt>
        <dd>{u.roles.join(', ')}</dd>
        <dt>Email</dt>
        <dd>{u.email ?? '—'}</dd>
        <dt>Last login</dt>
        <dd>{u.lastLoginAt ? utcText(u.lastLoginAt) : 'never'}</dd>
        <dt>Password changed</dt>
        <dd>{utcText(u.passwordChangedAt)}</dd>
      </dl>
      <p>
        <a href={`/audit?entity=user&entityId=${encodeURIComponent(u.id)}`}>Its audit trail</a>
      </p>
      <Form action="roles" title="Roles">
        <RoleChoices prefix="edit" chosen={u.roles} />
        <button type="submit">Set the roles</button>
      </Form>
      {u.locked && (
        <Form action="unlock" title="Unlock">
          <button type="submit">Unlock</button>
        </Form>
      )}
      <Form action="password" title="A new password (their sessions end)">
        <p>
          <label for="password-new">New password</label>
          <input id="password-new" name="password" type="password" autocomplete="new-password" required />
        </p>
        <button type="submit">Set the password</button>
      </Form>
      {!self &&
        (u.active ? (
          <Form action="deactivate" title="Deactivate (their sessions end at once)">
            <button type="submit">Deactivate</button>
          </Form>
        ) : (
          <Form action="reactivate" title="Reactivate">
            <button type="submit">Reactivate</button>
          </Form>
        ))}
    </article>,
    ctx,
  );
}
