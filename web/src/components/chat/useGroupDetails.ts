import { useEffect, useState } from "preact/hooks";
import type { Conversation } from "../../../../src/client";
import { useApp } from "../../context";

/** System events that change what `GET /conversations/{id}` says of a group beyond the list's summary. */
const DETAIL_EVENTS = ['"event":"description_changed"', '"event":"settings_changed"'];

/**
 * A group's description and settings, which the conversation list does not carry: read when the chat
 * opens, and again when one of its system messages says they changed. Null for a direct chat, or
 * until the first read answers.
 */
export function useGroupDetails(conversationId: string, group: boolean): Conversation | null {
  const { client } = useApp();
  const [details, setDetails] = useState<Conversation | null>(null);
  useEffect(() => {
    setDetails(null);
    if (!group) return;
    let live = true;
    const load = () =>
      client.rest
        .call("conversation", { conversation_id: conversationId })
        .then(({ conversation }) => live && setDetails(conversation))
        .catch(() => {});
    void load();
    const off = client.on("message", (m) => {
      if (m.conversation_id === conversationId && m.content_type === "system" && DETAIL_EVENTS.some((e) => m.content.includes(e))) void load();
    });
    return () => {
      live = false;
      off();
    };
  }, [conversationId, group]);
  return details;
}
