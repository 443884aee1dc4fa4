import { useRef } from "preact/hooks";
import { MediaTypes } from "../../../src/client";

/**
 * Add / Change / Remove for a photo (a profile's or a group's): a hidden file input for images, opened
 * by the button, and `onPick(null)` to remove it.
 */
export function PhotoPicker({
  hasPhoto,
  busy,
  addLabel,
  inputLabel,
  testId,
  onPick,
}: {
  hasPhoto: boolean;
  busy: boolean;
  addLabel: string;
  inputLabel: string;
  testId: string;
  onPick(file: File | null): void;
}) {
  const fileInput = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={fileInput}
        type="file"
        accept={MediaTypes.image.join(",")}
        class="sr-only"
        aria-label={inputLabel}
        data-testid={testId}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0] ?? null;
          e.currentTarget.value = "";
          if (file) onPick(file);
        }}
      />
      <button type="button" class="button button-small" disabled={busy} onClick={() => fileInput.current?.click()}>
        {busy ? "Uploading…" : hasPhoto ? "Change photo" : addLabel}
      </button>
      {hasPhoto && (
        <button type="button" class="button button-small button-ghost" disabled={busy} onClick={() => onPick(null)}>
          Remove photo
        </button>
      )}
    </>
  );
}
