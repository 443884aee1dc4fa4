import { CloseIcon } from "../icons";

/** Why a file was not sent, above the composer until dismissed or the next send. */
export function MediaErrorToast({ message, onDismiss }: { message: string | null; onDismiss(): void }) {
  if (!message) return null;
  return (
    <div class="toast-row">
      <div class="toast" role="alert" data-testid="media-error">
        <span class="toast-text">{message}</span>
        <button type="button" class="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          <CloseIcon />
        </button>
      </div>
    </div>
  );
}
