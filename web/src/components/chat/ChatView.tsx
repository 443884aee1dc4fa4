import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp, useClientEvents, useMinuteTick, useUsers } from "../../context";
import { errorText } from "../../errors";
import { useChatDialogs } from "./ChatDialogs";
import { ChatHeader } from "./ChatHeader";
import { Composer } from "./Composer";
import { useConversationDetails } from "./useConversationDetails";
import { DropOverlay, useFileDrop } from "./FileDrop";
import { MediaErrorToast } from "./MediaErrorToast";
import type { ComposeIntent } from "./chatActions";
import { isGroupAdmin } from "./messageRules";
import { MessageList, type FocusRequest } from "./MessageList";
import { TypingIndicator } from "./TypingIndicator";
import { useChatOpening, useMarkRead, useOpenChat } from "./useOpenChat";

const actionName = { edit: "edit", reaction: "reaction", delete: "deletion" } as const;

interface Props {
  conversationId: string;
  /** A message to bring into view once the chat is open (from the starred messages). */
  focus?: FocusRequest | null;
  onFocused?(): void;
}

/**
 * One conversation on screen: header, message log, typing indicator, composer, and files dropped on it.
 * It re-renders on the SDK's events for this chat and reads everything back from the client; the pieces
 * below it re-render with it, so the log re-pins to the bottom whenever anything above or below it changes size.
 * A message's actions end here: reply and edit go to the composer, delete and forward open a dialog,
 * reactions and stars go straight to the SDK.
 */
export function ChatView({ conversationId: id, focus = null, onFocused = () => {} }: Props) {
  const { client, users } = useApp();
  useUsers();
  useMinuteTick();
  useClientEvents(["conversation"], (_, changed) => changed === id, [id]);
  useClientEvents(["conversations", "presence", "connection"]);
  const chat = useOpenChat(id);
  const { ready, loadError } = useChatOpening(chat);
  useMarkRead(id);
  const me = users.me.user_id;
  const admin = isGroupAdmin(chat.summary, me);
  const details = useConversationDetails(id, !chat.gone);
  const onlyAdminsSend = details?.settings?.only_admins_send === true && !admin;
  const dialogs = useChatDialogs(chat.summary, admin);
  const [intent, setIntent] = useState<ComposeIntent | null>(null);
  const titleId = useId();
  const atBottom = useRef(true);
  const [toast, setToast] = useState<string | null>(null);
  const sendFiles = useRef<((files: File[]) => void) | null>(null);
  const drop = useFileDrop(!chat.gone, (files) => sendFiles.current?.(files));
  // An edit, reaction or delete the server refused has been taken back off its message: say why.
  useEffect(
    () =>
      client.on("actionFailed", ({ action, error }) => {
        // A played mark refused (the message was deleted meanwhile) is nothing to tell the listener.
        if (action.conversation_id === id && action.action !== "played") setToast(`Your ${actionName[action.action]} wasn't saved: ${error.message}`);
      }),
    [id],
  );
  const typingNames = client
    .typingIn(id)
    .filter((u) => u !== me)
    .map((u) => users.name(u));

  /** A reaction or star: done by the SDK (queued while offline); a refusal shows as the chat's toast. */
  function act(entry: ChatEntry, action: (serverMsgId: string) => unknown) {
    const serverMsgId = entry.server_msg_id;
    if (serverMsgId) void (async () => action(serverMsgId))().catch((err: unknown) => setToast(errorText(err)));
  }

  return (
    <section class="chat" aria-labelledby={titleId} {...drop.handlers}>
      <ChatHeader chat={chat} titleId={titleId} typingNames={typingNames} onGroupInfo={dialogs.showGroupInfo} details={details} admin={admin} />
      <MessageList
        chat={chat}
        ready={ready}
        loadError={loadError}
        atBottom={atBottom}
        focus={focus}
        onFocused={onFocused}
        actions={{
          info: dialogs.showMessageInfo,
          discard: (e) => client.discardFailed(e.key),
          reply: (entry) => setIntent({ kind: "reply", entry }),
          edit: (entry) => setIntent({ kind: "edit", entry }),
          forward: dialogs.showForward,
          remove: dialogs.showDelete,
          react: (entry, emoji) => act(entry, (m) => client.react(id, m, emoji)),
          star: (entry, starred) => act(entry, (m) => client.star(id, m, starred)),
        }}
      />
      <TypingIndicator names={typingNames} />
      <MediaErrorToast message={toast} onDismiss={() => setToast(null)} />
      {chat.gone ? (
        <p class="chat-gone" role="status">
          You're no longer a member of this conversation.
        </p>
      ) : onlyAdminsSend ? (
        <p class="chat-gone" role="status" data-testid="only-admins-send">
          Only admins can send messages.
        </p>
      ) : (
        <Composer
          conversationId={id}
          intent={intent}
          onIntent={setIntent}
          mentionable={chat.group ? (chat.summary?.members ?? []).map((m) => m.user_id).filter((u) => u !== me) : []}
          sendFilesRef={sendFiles}
          onFileError={setToast}
          onSent={() => {
            atBottom.current = true;
            setToast(null);
          }}
        />
      )}
      {drop.dragging && <DropOverlay />}
      {dialogs.element}
    </section>
  );
}
