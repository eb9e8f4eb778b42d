/** The login page: username (typed, or scanned from a badge into the field), password, and the station's name. */
import { CSRF_FIELD } from '../csrf';
import { page } from '../layout';

export function loginPage(o: {
  csrf: string;
  station: string;
  username?: string;
  error?: string;
  notice?: string;
}): string {
  return page(
    'Log in',
    <section class="login" aria-labelledby="login-title">
      <h1 id="login-title">Ampoule</h1>
      {o.notice && (
        <p class="notice" role="status">
          {o.notice}
        </p>
      )}
      {o.error && (
        <p class="error" role="alert" id="login-error">
          <span aria-hidden="true">⚠ </span>
          {o.error}
        </p>
      )}
      <form method="post" action="/login">
        <input type="hidden" name={CSRF_FIELD} value={o.csrf} />
        <label for="username">Username or badge</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          required
          autofocus
          value={o.username ?? ''}
          aria-describedby={o.error ? 'login-error' : undefined}
        />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <label for="station">Station</label>
        <input id="station" name="station" required maxLength={64} value={o.station} />
        <button type="submit">Log in</button>
      </form>
    </section>,
  );
}
