import { useEffect, useState } from "preact/hooks";
import type { MemberChange } from "../../../../src/client";
import { useApp, useUsers } from "../../context";
import { errorText } from "../../errors";
import { relativeMoment } from "../../format";
import { FormError } from "../Dialog";
import type { UserDirectory } from "../../users";

const PAGE = 20;

/** One change as a sentence: "Ana added Bo", "Cy joined via invite link", "Dan left". */
function describe(c: MemberChange, users: UserDirectory): string {
  const who = users.name(c.user_id, true);
  const by = users.name(c.actor, true);
  const self = c.actor === c.user_id;
  switch (c.change) {
    case "left":
      return `${who} left`;
    case "removed":
      return `${by} removed ${who}`;
    case "joined":
      if (c.via === "link") return `${who} joined via invite link`;
      if (c.via === "invitation") return `${who} joined (invited by ${by})`;
      if (c.via === "created") return self ? `${who} created the group` : `${by} created the group with ${who}`;
      return `${by} added ${who}`;
  }
}

/**
 * An admin's view of who joined and left the group, newest first, older changes on "Show more"
 * (GET /conversations/{id}/members/history). Read again whenever the member list changes.
 */
export function MemberActivity({ conversationId, membersKey }: { conversationId: string; membersKey: string }) {
  const { client } = useApp();
  const users = useUsers();
  const [changes, setChanges] = useState<MemberChange[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    let live = true;
    setError(null);
    client
      .memberHistory(conversationId, { limit: PAGE })
      .then((page) => {
        if (!live) return;
        setChanges(page.changes);
        setNext(page.next);
      })
      .catch((err) => live && setError(errorText(err)));
    return () => {
      live = false;
    };
  }, [conversationId, membersKey]);

  const more = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const page = await client.memberHistory(conversationId, { before: next, limit: PAGE });
      setChanges((shown) => [...shown, ...page.changes]);
      setNext(page.next);
    } catch (err) {
      setError(errorText(err));
    }
    setLoading(false);
  };

  return (
    <section class="member-activity" aria-labelledby="member-activity-title">
      <h3 class="section-title" id="member-activity-title">
        Member activity
      </h3>
      <FormError error={error} />
      <ol class="member-activity-list" aria-label="Member activity">
        {changes.map((c) => (
          <li key={`${c.seq}~${c.user_id}`} class="member-change" data-testid="member-change" data-change={c.change}>
            <span>{describe(c, users)}</span>
            <time class="muted" dateTime={new Date(c.at).toISOString()}>
              {relativeMoment(c.at)}
            </time>
          </li>
        ))}
      </ol>
      {next && (
        <button type="button" class="button button-small button-ghost" disabled={loading} onClick={() => void more()}>
          Show more
        </button>
      )}
    </section>
  );
}
