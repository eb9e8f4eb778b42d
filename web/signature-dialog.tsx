/**
 * The signature dialog, inside the form it signs: opened by its button (without script it would simply be
 * shown), it says what is signed and with which meaning, under whose printed name, and asks for the password
 * again — a session alone never signs — and a comment. Its Sign button submits the form.
 */
import type { UserActor } from '../db/change-context';

export function SignatureDialog(p: { id: string; actor: UserActor; what: string; meaning: string; opener: string }) {
  return (
    <>
      <button type="button" data-opens={p.id} class="primary">
        {p.opener}
      </button>
      <dialog id={p.id} aria-labelledby={`${p.id}-title`}>
        <h2 id={`${p.id}-title`}>Electronic signature</h2>
        <dl>
          <dt>What you sign</dt>
          <dd>{p.what}</dd>
          <dt>Meaning</dt>
          <dd>
            <strong>{p.meaning}</strong>
          </dd>
          <dt>Signed by</dt>
          <dd>
            {p.actor.fullName} ({p.actor.username})
          </dd>
        </dl>
        <p>
          <label for={`${p.id}-password`}>Your password (to sign)</label>
          <input id={`${p.id}-password`} name="password" type="password" autocomplete="current-password" required />
        </p>
        <p>
          <label for={`${p.id}-comment`}>Comment on the signature (optional)</label>
          <input id={`${p.id}-comment`} name="signatureComment" maxLength={500} />
        </p>
        <p class="actions">
          <button type="submit" class="primary">
            Sign
          </button>
          <button type="button" data-closes={p.id}>
            Cancel
          </button>
        </p>
      </dialog>
    </>
  );
}
