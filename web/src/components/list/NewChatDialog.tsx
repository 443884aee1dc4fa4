import { useState } from "preact/hooks";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { Dialog, DialogActions, FormError } from "../Dialog";

/** Start (or reopen) a direct chat with someone by username. */
export function NewChatDialog({ onClose }: { onClose(): void }) {
  const { client, users, open } = useApp();
  const [username, setUsername] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const name = username.trim().replace(/^@/, "");
    if (!name) return setError("Enter a username.");
    setBusy(true);
    setError(null);
    try {
      const { user } = await client.rest.call("findUser", { query: { username: name } });
      if (user.user_id === users.me.user_id) throw new Error("self");
      users.put(user);
      const { conversation } = await client.rest.call("createConversation", { body: { type: "direct", member_ids: [user.user_id] } });
      await client.refreshConversations();
      onClose();
      open(conversation.conversation_id);
    } catch (err) {
      setError(err instanceof Error && err.message === "self" ? "That's you! Pick someone else." : errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New chat" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="new-chat-username">Username</label>
          <input
            id="new-chat-username"
            autoFocus
            autoCapitalize="none"
            autoComplete="off"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </div>
        <FormError error={error} />
        <DialogActions onCancel={onClose}>
          <button type="submit" class="button button-primary" disabled={busy}>
            Start chat
          </button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
