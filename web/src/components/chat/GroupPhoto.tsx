import { useRef, useState } from "preact/hooks";
import type { ConversationSummary } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { Avatar } from "../Avatar";

/**
 * The group's photo, large, with "Change photo" / "Remove photo" for whoever may edit the group's
 * info. The change reaches every member as a system message; the list follows it.
 */
export function GroupPhoto({ conversation, canEdit, onError }: { conversation: ConversationSummary; canEdit: boolean; onError(message: string | null): void }) {
  const { client } = useApp();
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const id = conversation.conversation_id;

  async function set(file: File | null) {
    setBusy(true);
    onError(null);
    try {
      await client.setGroupPhoto(id, file);
    } catch (err) {
      onError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Avatar userId={id} name={conversation.name ?? "Group"} size="large" group photo={conversation.photo} />
      {canEdit && (
        <div class="group-photo-actions">
          <input
            ref={fileInput}
            type="file"
            accept="image/jpeg,image/png,image/webp,image/gif"
            class="sr-only"
            aria-label="Choose a group photo"
            data-testid="group-photo-input"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0] ?? null;
              e.currentTarget.value = "";
              if (file) void set(file);
            }}
          />
          <button type="button" class="button button-small button-ghost" disabled={busy} onClick={() => fileInput.current?.click()}>
            {busy ? "Uploading…" : conversation.photo ? "Change photo" : "Add group photo"}
          </button>
          {conversation.photo && (
            <button type="button" class="button button-small button-ghost" disabled={busy} onClick={() => void set(null)}>
              Remove photo
            </button>
          )}
        </div>
      )}
    </>
  );
}
