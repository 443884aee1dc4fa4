import { useState } from "preact/hooks";
import type { User } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { Dialog, DialogActions, FormError } from "../Dialog";

/** Name a group and add people by username, one at a time. */
export function NewGroupDialog({ onClose }: { onClose(): void }) {
  const { client, users, open } = useApp();
  const [name, setName] = useState("");
  const [candidate, setCandidate] = useState("");
  const [members, setMembers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function add() {
    const username = candidate.trim().replace(/^@/, "");
    if (!username) return;
    setError(null);
    setBusy(true);
    try {
      const { user } = await client.rest.call("findUser", { query: { username } });
      users.put(user);
      if (user.user_id === users.me.user_id) setError("You're in the group already.");
      else if (members.some((m) => m.user_id === user.user_id)) setError(`${user.display_name} is already added.`);
      else {
        setMembers((list) => (list.some((m) => m.user_id === user.user_id) ? list : [...list, user]));
        // Only clear what was added: the user may have typed the next name meanwhile.
        setCandidate((current) => (current.trim().replace(/^@/, "") === username ? "" : current));
      }
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  }

  async function create(e: Event) {
    e.preventDefault();
    if (!name.trim()) return setError("Give the group a name.");
    setBusy(true);
    setError(null);
    try {
      const { conversation } = await client.rest.call("createConversation", {
        body: { type: "group", name: name.trim(), member_ids: members.map((m) => m.user_id) },
      });
      await client.refreshConversations();
      onClose();
      open(conversation.conversation_id);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New group" onClose={onClose}>
      <form class="form" onSubmit={create}>
        <div class="field">
          <label for="new-group-name">Group name</label>
          <input id="new-group-name" autoFocus maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="new-group-member">Add member by username</label>
          <div class="input-row">
            <input
              id="new-group-member"
              autoCapitalize="none"
              autoComplete="off"
              spellcheck={false}
              value={candidate}
              onInput={(e) => setCandidate(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  void add();
                }
              }}
            />
            <button type="button" class="button" onClick={add} disabled={busy}>
              Add
            </button>
          </div>
        </div>
        {members.length > 0 && (
          <ul class="chips" aria-label="Members to add">
            {members.map((m) => (
              <li class="chip" key={m.user_id} data-testid="member-chip">
                <span>{m.display_name || m.username}</span>
                <button
                  type="button"
                  class="chip-remove"
                  aria-label={`Remove ${m.display_name || m.username}`}
                  onClick={() => setMembers(members.filter((x) => x.user_id !== m.user_id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        <FormError error={error} />
        <DialogActions onCancel={onClose}>
          <button type="submit" class="button button-primary" disabled={busy}>
            Create group
          </button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
