import { useId, useRef, useState } from "preact/hooks";
import { useApp, useClientEvents, useMinuteTick, useUsers } from "../../context";
import { useChatDialogs } from "./ChatDialogs";
import { ChatHeader } from "./ChatHeader";
import { Composer } from "./Composer";
import { DropOverlay, useFileDrop } from "./FileDrop";
import { MediaErrorToast } from "./MediaErrorToast";
import { MessageList } from "./MessageList";
import { TypingIndicator } from "./TypingIndicator";
import { useChatOpening, useMarkRead, useOpenChat } from "./useOpenChat";

/**
 * One conversation on screen: header, message log, typing indicator, composer, and files dropped on it.
 * It re-renders on the SDK's events for this chat and reads everything back from the client; the pieces
 * below it re-render with it, so the log re-pins to the bottom whenever anything above or below it changes size.
 */
export function ChatView({ conversationId: id }: { conversationId: string }) {
  const { client, users } = useApp();
  useUsers();
  useMinuteTick();
  useClientEvents(["conversation"], (_, changed) => changed === id, [id]);
  useClientEvents(["conversations", "presence", "connection"]);
  const chat = useOpenChat(id);
  const { ready, loadError } = useChatOpening(chat);
  useMarkRead(id);
  const dialogs = useChatDialogs(chat.summary);
  const titleId = useId();
  const atBottom = useRef(true);
  const [toast, setToast] = useState<string | null>(null);
  const sendFiles = useRef<((files: File[]) => void) | null>(null);
  const drop = useFileDrop(!chat.gone, (files) => sendFiles.current?.(files));
  const me = users.me.user_id;
  const typingNames = client
    .typingIn(id)
    .filter((u) => u !== me)
    .map((u) => users.name(u));

  return (
    <section class="chat" aria-labelledby={titleId} {...drop.handlers}>
      <ChatHeader chat={chat} titleId={titleId} typingNames={typingNames} onGroupInfo={dialogs.showGroupInfo} />
      <MessageList chat={chat} ready={ready} loadError={loadError} atBottom={atBottom} onInfo={dialogs.showMessageInfo} />
      <TypingIndicator names={typingNames} />
      <MediaErrorToast message={toast} onDismiss={() => setToast(null)} />
      {chat.gone ? (
        <p class="chat-gone" role="status">
          You're no longer a member of this conversation.
        </p>
      ) : (
        <Composer
          conversationId={id}
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
