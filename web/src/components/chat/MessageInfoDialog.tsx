import { useEffect, useState } from "preact/hooks";
import type { ChatEntry, ConversationSummary, Receipt } from "../../../../src/client";
import { useApp, useUsers } from "../../context";
import { errorText } from "../../errors";
import { relativeMoment } from "../../format";
import { mediaPreview } from "../../media";
import { Avatar } from "../Avatar";
import { Dialog, FormError } from "../Dialog";

/** Who has received and read one of your messages, with when (and, for a voice message, who played it). */
export function MessageInfoDialog({ entry, conversation, onClose }: { entry: ChatEntry; conversation: ConversationSummary; onClose(): void }) {
  const { client } = useApp();
  const users = useUsers();
  const [receipts, setReceipts] = useState<Receipt[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!entry.server_msg_id) return;
    client.rest
      .call("receipts", { conversation_id: conversation.conversation_id, server_msg_id: entry.server_msg_id })
      .then(({ receipts }) => setReceipts(receipts.filter((r) => r.user_id !== users.me.user_id)))
      .catch((err: unknown) => setError(errorText(err)));
  }, [entry.server_msg_id]);

  return (
    <Dialog title="Message info" onClose={onClose}>
      <blockquote class="message-info-quote">{entry.content_type === "text" ? entry.content : mediaPreview(entry)}</blockquote>
      <FormError error={error} />
      {!receipts && !error && <p class="muted">Loading…</p>}
      {receipts && receipts.length === 0 && <p class="muted">No one else is in this conversation.</p>}
      {receipts && receipts.length > 0 && (
        <ul class="receipt-list" aria-label="Receipts">
          {receipts.map((r) => (
            <li key={r.user_id} class="receipt-row" data-testid="receipt-row">
              <Avatar userId={r.user_id} name={users.name(r.user_id)} size="small" photo={users.photo(r.user_id)} />
              <span class="receipt-name">{users.name(r.user_id)}</span>
              <dl class="receipt-times">
                <div>
                  <dt>Delivered</dt>
                  <dd>{r.delivered_at ? relativeMoment(r.delivered_at) : "—"}</dd>
                </div>
                <div>
                  <dt>Read</dt>
                  <dd>{r.read_at ? relativeMoment(r.read_at) : "—"}</dd>
                </div>
                {entry.media?.voice && (
                  <div>
                    <dt>Played</dt>
                    <dd data-testid="receipt-played">{entry.played_by?.includes(r.user_id) ? "Yes" : "—"}</dd>
                  </div>
                )}
              </dl>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
