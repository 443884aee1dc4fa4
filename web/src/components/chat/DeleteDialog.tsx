import { useState } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { Dialog, FormError } from "../Dialog";
import { canDeleteForEveryone, entryQuoteText } from "./messageRules";

/**
 * Delete for me (hidden on your own devices), or for everyone — offered only for your own message
 * within the delete window, or to a group's admin.
 */
export function DeleteDialog({ entry, admin, onClose }: { entry: ChatEntry; admin: boolean; onClose(): void }) {
  const { client } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const forEveryone = canDeleteForEveryone(entry, admin);
  const id = entry.server_msg_id;

  async function run(action: (conversationId: string, serverMsgId: string) => unknown) {
    if (!id) return;
    setBusy(true);
    setError(null);
    try {
      await action(entry.conversation_id, id);
      onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Delete message?" onClose={onClose}>
      <blockquote class="message-info-quote">{entryQuoteText(entry)}</blockquote>
      {!entry.own && forEveryone && <p class="hint">As a group admin you can delete it for everyone.</p>}
      <FormError error={error} />
      <div class="dialog-actions dialog-actions-stacked">
        {forEveryone && (
          <button type="button" class="button button-danger" disabled={busy} onClick={() => void run((c, m) => client.deleteForEveryone(c, m))}>
            Delete for everyone
          </button>
        )}
        <button type="button" class="button button-danger-ghost" disabled={busy} onClick={() => void run((c, m) => client.deleteForMe(c, m))}>
          Delete for me
        </button>
        <button type="button" class="button button-ghost" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
