import { useEffect, useState } from "preact/hooks";
import type { Conversation } from "../../../../src/client";
import { useApp } from "../../context";

/** System events that change what `GET /conversations/{id}` says beyond the list's summary. */
const DETAIL_EVENTS = ['"event":"description_changed"', '"event":"settings_changed"', '"event":"disappearing_changed"'];

/**
 * What the conversation list does not carry — a group's description and settings, any conversation's
 * disappearing timer: read when the chat opens, and again when one of its system messages says they
 * changed. Null while `enabled` is false, or until the first read answers.
 */
export function useConversationDetails(conversationId: string, enabled: boolean): Conversation | null {
  const { client } = useApp();
  const [details, setDetails] = useState<Conversation | null>(null);
  useEffect(() => {
    setDetails(null);
    if (!enabled) return;
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
  }, [conversationId, enabled]);
  return details;
}
