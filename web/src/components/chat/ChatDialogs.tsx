import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ChatEntry, ConversationSummary } from "../../../../src/client";
import { GroupInfo } from "./GroupInfo";
import { MessageInfoDialog } from "./MessageInfoDialog";

interface ChatDialogs {
  /** The header's Group info button. */
  showGroupInfo(): void;
  /** A tick of one of your messages: who received and read it. */
  showMessageInfo(entry: ChatEntry): void;
  /** Whichever is open, to render in the chat. */
  element: JSX.Element;
}

/** The dialogs a chat opens: the group's info sheet and a message's delivery/read info. */
export function useChatDialogs(summary: ConversationSummary | undefined): ChatDialogs {
  const [groupInfo, setGroupInfo] = useState(false);
  const [infoFor, setInfoFor] = useState<ChatEntry | null>(null);
  return {
    showGroupInfo: () => setGroupInfo(true),
    showMessageInfo: setInfoFor,
    element: (
      <>
        {groupInfo && summary && <GroupInfo conversation={summary} onClose={() => setGroupInfo(false)} />}
        {infoFor && summary && <MessageInfoDialog entry={infoFor} conversation={summary} onClose={() => setInfoFor(null)} />}
      </>
    ),
  };
}
