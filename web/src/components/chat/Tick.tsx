import type { ChatEntry, MessageState } from "../../../../src/client";
import { AlertIcon, CheckIcon, ClockIcon, DoubleCheckIcon } from "../icons";

const tickLabel: Record<MessageState, string> = { pending: "Sending", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" };

/**
 * The status of one of your messages. Once the server has it, the tick is a button that opens the
 * message's info (who received and read it, when).
 */
export function Tick({ entry, state, onInfo }: { entry: ChatEntry; state: MessageState; onInfo(entry: ChatEntry): void }) {
  const label = tickLabel[state];
  if (state === "pending" || state === "failed") {
    return (
      <span class={`tick tick-${state}`} role="img" aria-label={label} data-testid="tick">
        {state === "pending" ? <ClockIcon /> : <AlertIcon />}
      </span>
    );
  }
  return (
    <button type="button" class={`tick tick-${state}`} aria-label={label} title={`${label} — message info`} data-testid="tick" onClick={() => onInfo(entry)}>
      {state === "sent" ? <CheckIcon /> : <DoubleCheckIcon />}
    </button>
  );
}
