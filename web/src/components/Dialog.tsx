import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import { CloseIcon } from "./icons";

interface Props {
  title: string;
  onClose(): void;
  children: ComponentChildren;
  /** "sheet" slides in from the side (group info); default is a centred dialog. */
  variant?: "modal" | "sheet";
}

/**
 * A modal on the native <dialog>: the browser traps focus, makes the page behind inert, and turns
 * Escape into a `cancel` event, which we route to onClose so the parent unmounts us.
 */
export function Dialog({ title, onClose, children, variant = "modal" }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog dialog-${variant}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        // A click on the backdrop lands on the <dialog> itself, outside the inner panel.
        if (e.target === ref.current) onClose();
      }}
    >
      <div class="dialog-panel">
        <header class="dialog-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="icon-button" aria-label="Close" onClick={onClose}>
            <CloseIcon />
          </button>
        </header>
        <div class="dialog-body">{children}</div>
      </div>
    </dialog>
  );
}

/** A form's refusal, announced to screen readers; nothing when there is none. */
export function FormError({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="form-error" role="alert">
      {error}
    </p>
  ) : null;
}

/** A dialog's buttons: Cancel, then what the dialog is for. */
export function DialogActions({ onCancel, children }: { onCancel(): void; children: ComponentChildren }) {
  return (
    <div class="dialog-actions">
      <button type="button" class="button button-ghost" onClick={onCancel}>
        Cancel
      </button>
      {children}
    </div>
  );
}
