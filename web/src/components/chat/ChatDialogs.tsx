import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ChatEntry, ConversationSummary } from "../../../../src/client";
import { DeleteDialog } from "./DeleteDialog";
import { ForwardDialog } from "./ForwardDialog";
import { GroupInfo } from "./GroupInfo";
import { MessageInfoDialog } from "./MessageInfoDialog";

interface ChatDialogs {
  /** The header's Group info button. */
  showGroupInfo(): void;
  /** A tick of one of your messages: who received and read it. */
  showMessageInfo(entry: ChatEntry): void;
  /** A message's Delete: for me, or for everyone. */
  showDelete(entry: ChatEntry): void;
  /** A message's Forward: pick the conversations. */
  showForward(entry: ChatEntry): void;
  /** Whichever is open, to render in the chat. */
  element: JSX.Element;
}

type Open = { kind: "group" } | { kind: "info" | "delete" | "forward"; entry: ChatEntry } | null;

/** The dialogs a chat opens: the group's info sheet, a message's delivery/read info, delete and forward. */
export function useChatDialogs(summary: ConversationSummary | undefined, admin: boolean): ChatDialogs {
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);
  return {
    showGroupInfo: () => setOpen({ kind: "group" }),
    showMessageInfo: (entry) => setOpen({ kind: "info", entry }),
    showDelete: (entry) => setOpen({ kind: "delete", entry }),
    showForward: (entry) => setOpen({ kind: "forward", entry }),
    element: (
      <>
        {open?.kind === "group" && summary && <GroupInfo conversation={summary} onClose={close} />}
        {open?.kind === "info" && summary && <MessageInfoDialog entry={open.entry} conversation={summary} onClose={close} />}
        {open?.kind === "delete" && <DeleteDialog entry={open.entry} admin={admin} onClose={close} />}
        {open?.kind === "forward" && <ForwardDialog entry={open.entry} onClose={close} />}
      </>
    ),
  };
}
