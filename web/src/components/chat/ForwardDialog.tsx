import { useId, useState } from "preact/hooks";
import { Limits, type ChatEntry } from "../../../../src/client";
import { conversationTitle, otherMember, useApp, useUsers } from "../../context";
import { errorText } from "../../errors";
import { matchesName } from "../../mentions";
import { Avatar } from "../Avatar";
import { Dialog, DialogActions, FormError } from "../Dialog";
import { entryQuoteText } from "./messageRules";

/**
 * Forward a message to up to Limits.forwardMaxTargets conversations, picked from your list (a search box
 * narrows it by name). The copies arrive marked "Forwarded"; media goes along without a new upload.
 */
export function ForwardDialog({ entry, onClose }: { entry: ChatEntry; onClose(): void }) {
  const { client } = useApp();
  const users = useUsers();
  const [search, setSearch] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const searchId = useId();
  const max = Limits.forwardMaxTargets;
  const me = users.me.user_id;
  const all = client.conversations().map((c) => ({ c, title: conversationTitle(c, users) }));
  const shown = search.trim() ? all.filter(({ title }) => matchesName(title, search.trim())) : all;

  function toggle(id: string, on: boolean) {
    setPicked((now) => (on ? (now.length < max && !now.includes(id) ? [...now, id] : now) : now.filter((p) => p !== id)));
  }

  async function forward() {
    if (!entry.server_msg_id || picked.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      await client.forward(entry.conversation_id, entry.server_msg_id, picked);
      onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Forward message" onClose={onClose}>
      <blockquote class="message-info-quote">{entryQuoteText(entry)}</blockquote>
      <div class="field">
        <label for={searchId}>Search conversations</label>
        <input id={searchId} type="search" value={search} autoComplete="off" onInput={(e) => setSearch(e.currentTarget.value)} />
      </div>
      <p class="hint" aria-live="polite">
        {picked.length} of {max} selected
      </p>
      <ul class="forward-list" aria-label="Conversations">
        {shown.length === 0 && <li class="muted">No conversations match.</li>}
        {shown.map(({ c, title }) => {
          const checked = picked.includes(c.conversation_id);
          const partner = c.type === "direct" ? otherMember(c, me) : undefined;
          return (
            <li key={c.conversation_id}>
              <label class="forward-row">
                <input
                  type="checkbox"
                  checked={checked}
                  disabled={!checked && picked.length >= max}
                  onChange={(e) => toggle(c.conversation_id, e.currentTarget.checked)}
                />
                <Avatar
                  userId={partner ?? c.conversation_id}
                  name={title}
                  size="small"
                  group={c.type === "group"}
                  photo={c.type === "group" ? c.photo : partner ? users.photo(partner) : undefined}
                />
                <span class="forward-name">{title}</span>
              </label>
            </li>
          );
        })}
      </ul>
      <FormError error={error} />
      <DialogActions onCancel={onClose}>
        <button type="button" class="button button-primary" disabled={busy || picked.length === 0} onClick={() => void forward()}>
          Forward{picked.length > 1 ? ` to ${picked.length}` : ""}
        </button>
      </DialogActions>
    </Dialog>
  );
}
