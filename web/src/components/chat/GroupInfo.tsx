import { useState } from "preact/hooks";
import { Limits, type ConversationSummary, type MemberRole } from "../../../../src/client";
import { useApp, useUsers } from "../../context";
import { errorText } from "../../errors";
import { Avatar } from "../Avatar";
import { Dialog, FormError } from "../Dialog";
import { GroupPhoto } from "./GroupPhoto";
import { MemberActivity } from "./MemberActivity";
import { useConversationDetails } from "./useConversationDetails";

/**
 * The group's name, description, settings and members; admins change the settings, add, remove and
 * promote, rename (so may every member when the group allows it) and see who joined and left.
 * Everyone can leave, or report and leave.
 */
export function GroupInfo({ conversation, onClose }: { conversation: ConversationSummary; onClose(): void }) {
  const { client, open } = useApp();
  const users = useUsers();
  const me = users.me.user_id;
  const id = conversation.conversation_id;
  const admin = conversation.members.some((m) => m.user_id === me && m.role === "admin");
  const details = useConversationDetails(id, true);
  const settings = details?.settings;
  const canEditInfo = admin || settings?.only_admins_edit_info === false;
  const [name, setName] = useState(conversation.name ?? "");
  const [description, setDescription] = useState<string | null>(null);
  const shownDescription = description ?? details?.description ?? "";
  const [candidate, setCandidate] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(work: () => Promise<unknown>, done?: string) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await work();
      await client.refreshConversations();
      if (done) setNotice(done);
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  }

  const rename = (e: Event) => {
    e.preventDefault();
    if (name.trim() && name.trim() !== conversation.name) void act(() => client.rest.call("updateGroup", { conversation_id: id, body: { name: name.trim() } }), "Group renamed.");
  };
  const saveDescription = (e: Event) => {
    e.preventDefault();
    if (shownDescription.trim() !== (details?.description ?? "")) {
      void act(() => client.rest.call("updateGroup", { conversation_id: id, body: { description: shownDescription.trim() } }), "Description saved.");
    }
  };
  const setSetting = (key: "only_admins_send" | "only_admins_edit_info", value: boolean) =>
    act(() => client.rest.call("updateGroup", { conversation_id: id, body: { [key]: value } }), "Settings saved.");
  const addMember = (e: Event) => {
    e.preventDefault();
    const username = candidate.trim().replace(/^@/, "");
    if (!username) return;
    void act(async () => {
      const { user } = await client.rest.call("findUser", { query: { username } });
      users.put(user);
      await client.rest.call("addMembers", { conversation_id: id, body: { user_ids: [user.user_id] } });
      setCandidate((current) => (current.trim().replace(/^@/, "") === username ? "" : current));
    }, "Member added.");
  };
  const remove = (userId: string) => act(() => client.rest.call("removeMember", { conversation_id: id, user_id: userId }));
  const setRole = (userId: string, role: MemberRole) =>
    act(() => client.rest.call("setRole", { conversation_id: id, user_id: userId, body: { role } }));
  /** Leaves the group; with `report`, first reports it to the operators (the report leaves it too). */
  const leave = async (report = false) => {
    if (report && !window.confirm("Report this group to Parley's operators and leave it? Its 5 newest messages go with the report.")) return;
    setBusy(true);
    try {
      if (report) await client.rest.call("report", { conversation_id: id, body: { leave: true } });
      else await client.rest.call("removeMember", { conversation_id: id, user_id: me });
      await client.refreshConversations().catch(() => {});
      onClose();
      open(null);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  const members = [...conversation.members].sort(
    (a, b) => Number(b.user_id === me) - Number(a.user_id === me) || Number(b.role === "admin") - Number(a.role === "admin"),
  );

  return (
    <Dialog title="Group info" variant="sheet" onClose={onClose}>
      <div class="group-hero">
        <GroupPhoto conversation={conversation} canEdit={canEditInfo} onError={setError} />
        {canEditInfo ? (
          <form class="rename-form" onSubmit={rename}>
            <label for="group-name">Group name</label>
            <div class="input-row">
              <input id="group-name" maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
              <button type="submit" class="button" disabled={busy || !name.trim() || name.trim() === conversation.name}>
                Save
              </button>
            </div>
          </form>
        ) : (
          <h3 class="group-name">{conversation.name}</h3>
        )}
        <p class="muted">Group · {conversation.members.length} members</p>
      </div>
      {canEditInfo ? (
        <form class="rename-form" onSubmit={saveDescription}>
          <label for="group-description">Description</label>
          <div class="input-row">
            <textarea
              id="group-description"
              rows={2}
              maxLength={Limits.groupDescriptionMaxLength}
              placeholder="What this group is about"
              value={shownDescription}
              onInput={(e) => setDescription(e.currentTarget.value)}
            />
            <button type="submit" class="button" disabled={busy || shownDescription.trim() === (details?.description ?? "")}>
              Save
            </button>
          </div>
        </form>
      ) : (
        details?.description && (
          <p class="group-description" data-testid="group-description">
            {details.description}
          </p>
        )
      )}
      {admin && settings && (
        <fieldset class="group-settings">
          <legend>Group settings</legend>
          <label>
            <input type="checkbox" checked={settings.only_admins_send} disabled={busy} onChange={(e) => void setSetting("only_admins_send", e.currentTarget.checked)} />
            Only admins can send messages
          </label>
          <label>
            <input
              type="checkbox"
              checked={settings.only_admins_edit_info}
              disabled={busy}
              onChange={(e) => void setSetting("only_admins_edit_info", e.currentTarget.checked)}
            />
            Only admins can edit the group's name, description and photo
          </label>
        </fieldset>
      )}
      <FormError error={error} />
      {notice && (
        <p class="form-notice" role="status">
          {notice}
        </p>
      )}
      {admin && (
        <form class="add-member" onSubmit={addMember}>
          <label for="group-add-member">Add member by username</label>
          <div class="input-row">
            <input
              id="group-add-member"
              autoCapitalize="none"
              autoComplete="off"
              spellcheck={false}
              value={candidate}
              onInput={(e) => setCandidate(e.currentTarget.value)}
            />
            <button type="submit" class="button" disabled={busy || !candidate.trim()}>
              Add member
            </button>
          </div>
        </form>
      )}
      <h3 class="section-title">{conversation.members.length} members</h3>
      <ul class="member-list" aria-label="Members">
        {members.map((m) => {
          const nameId = `member-${m.user_id}`;
          const self = m.user_id === me;
          return (
            <li key={m.user_id} class="member-row" data-testid="member-row" data-user-id={m.user_id}>
              <Avatar userId={m.user_id} name={users.name(m.user_id)} size="small" photo={users.photo(m.user_id)} />
              <span class="member-name" id={nameId}>
                {self ? "You" : users.name(m.user_id)}
                {m.role === "admin" && <span class="role-badge">Admin</span>}
                {users.about(m.user_id) && <span class="contact-about">{users.about(m.user_id)}</span>}
              </span>
              {admin && !self && (
                <span class="member-actions">
                  <button
                    type="button"
                    class="button button-small button-ghost"
                    aria-describedby={nameId}
                    disabled={busy}
                    onClick={() => setRole(m.user_id, m.role === "admin" ? "member" : "admin")}
                  >
                    {m.role === "admin" ? "Remove admin" : "Make admin"}
                  </button>
                  <button type="button" class="button button-small button-danger-ghost" aria-describedby={nameId} disabled={busy} onClick={() => remove(m.user_id)}>
                    Remove
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {admin && <MemberActivity conversationId={id} membersKey={conversation.members.map((m) => m.user_id).join()} />}
      <button type="button" class="button button-danger button-block" onClick={() => void leave()} disabled={busy}>
        Leave group
      </button>
      <button type="button" class="button button-danger-ghost button-block" onClick={() => void leave(true)} disabled={busy}>
        Report and leave
      </button>
    </Dialog>
  );
}
