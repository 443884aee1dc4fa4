import { useState } from "preact/hooks";
import type { ConversationSummary } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { Avatar } from "../Avatar";
import { PhotoPicker } from "../PhotoPicker";

/**
 * The group's photo, large, with "Change photo" / "Remove photo" for whoever may edit the group's
 * info. The change reaches every member as a system message; the list follows it.
 */
export function GroupPhoto({ conversation, canEdit, onError }: { conversation: ConversationSummary; canEdit: boolean; onError(message: string | null): void }) {
  const { client } = useApp();
  const [busy, setBusy] = useState(false);
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
          <PhotoPicker
            hasPhoto={conversation.photo !== undefined}
            busy={busy}
            addLabel="Add group photo"
            inputLabel="Choose a group photo"
            testId="group-photo-input"
            onPick={(file) => void set(file)}
          />
        </div>
      )}
    </>
  );
}
