import { useEffect, useState } from "preact/hooks";
import { conversationTitle, useApp, useClientEvents, useUsers } from "../context";
import { errorText } from "../errors";
import { listTime } from "../format";
import { mediaPreview } from "../media";
import { Avatar } from "./Avatar";
import { deletedText } from "./chat/MessageBubble";
import { Dialog, FormError } from "./Dialog";
import { StarFilledIcon } from "./icons";

/**
 * Your starred messages across conversations, newest starred first. Clicking one opens its chat
 * scrolled to it; the star beside it unstars it.
 */
export function StarredDialog({ onClose }: { onClose(): void }) {
  const { client, openMessage } = useApp();
  const users = useUsers();
  // Stars set or cleared on this or another device, and names of chats, re-render the list.
  useClientEvents(["starred", "conversations"]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client
      .loadStarred()
      .then(() => setLoaded(true))
      .catch((err: unknown) => setError(errorText(err)));
  }, []);
  const starred = client.starredMessages();
  const me = users.me.user_id;

  return (
    <Dialog title="Starred messages" variant="sheet" onClose={onClose}>
      <FormError error={error} />
      {!loaded && !error && starred.length === 0 && <p class="muted">Loading…</p>}
      {loaded && starred.length === 0 && <p class="muted">No starred messages. Star one from its menu to find it here.</p>}
      {starred.length > 0 && (
        <ul class="starred-list" aria-label="Starred messages">
          {starred.map(({ message: m, starred_at }) => {
            const summary = client.conversation(m.conversation_id);
            const where = summary ? conversationTitle(summary, users) : "A conversation you left";
            const sender = users.name(m.sender_id, true);
            const text = m.deleted ? deletedText(m, me, (id) => users.name(id)) : m.content_type === "text" ? m.content : mediaPreview(m);
            return (
              <li key={`${m.conversation_id}/${m.server_msg_id}`} class="starred-item" data-testid="starred-item" data-starred-at={starred_at}>
                <button
                  type="button"
                  class="starred-open"
                  disabled={!summary}
                  onClick={() => {
                    onClose();
                    openMessage(m.conversation_id, m.seq);
                  }}
                >
                  <Avatar userId={m.sender_id} name={users.name(m.sender_id)} size="small" photo={users.photo(m.sender_id)} />
                  <span class="starred-main">
                    <span class="starred-top">
                      <span class="starred-sender">{sender}</span>
                      <span class="starred-where">{where}</span>
                      <time class="starred-time" dateTime={new Date(m.timestamp).toISOString()}>
                        {listTime(m.timestamp)}
                      </time>
                    </span>
                    <span class={`starred-text${m.deleted ? " deleted-text" : ""}`}>{text}</span>
                  </span>
                </button>
                <button
                  type="button"
                  class="icon-button starred-unstar"
                  aria-label="Unstar"
                  title="Unstar"
                  onClick={() => client.star(m.conversation_id, m.server_msg_id, false)}
                >
                  <StarFilledIcon />
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </Dialog>
  );
}
