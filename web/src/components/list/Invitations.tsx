import { FormError } from "../Dialog";
import { useEffect, useState } from "preact/hooks";
import { useApp, useClientEvents } from "../../context";

/** Invitations to groups (sent instead of an add the user's settings did not allow): join or decline. */
export function Invitations() {
  const { client, users } = useApp();
  useClientEvents(["invitations"]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.refreshInvitations().catch(() => {});
  }, [client]);
  const invitations = client.invitations();
  if (invitations.length === 0 && !error) return null;
  async function answer(conversationId: string, accept: boolean) {
    setError(null);
    try {
      if (accept) await client.acceptInvitation(conversationId);
      else await client.declineInvitation(conversationId);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Couldn't answer that invitation. Try again.");
    }
  }
  return (
    <section class="invitations" aria-label="Invitations">
      <ul>
        {invitations.map((i) => (
          <li key={i.conversation_id} class="invitation" data-testid="invitation">
            <span class="invitation-text">
              <strong>{users.name(i.inviter_id)}</strong> invited you to <strong>{i.name ?? "a group"}</strong>
            </span>
            <span class="invitation-actions">
              <button type="button" class="button button-small" onClick={() => void answer(i.conversation_id, true)}>
                Join
              </button>
              <button type="button" class="button button-small button-ghost" onClick={() => void answer(i.conversation_id, false)}>
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
      <FormError error={error} />
    </section>
  );
}
