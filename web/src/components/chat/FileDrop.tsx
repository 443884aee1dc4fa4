import type { JSX } from "preact";
import { useRef, useState } from "preact/hooks";
import { UploadIcon } from "../icons";

type DragHandler = (e: JSX.TargetedDragEvent<HTMLElement>) => void;

interface FileDrop {
  /** Files are being dragged over the chat: show the overlay. */
  dragging: boolean;
  /** For the element files can be dropped on. */
  handlers: { onDragEnter: DragHandler; onDragOver: DragHandler; onDragLeave: DragHandler; onDrop: DragHandler };
}

/**
 * Files dropped anywhere on the chat go to `onFiles`. Only drags that carry files count (not text or
 * links), and none while `enabled` is false. Enter and leave fire for every child crossed, so the
 * overlay shows while the count of entered elements is above zero.
 */
export function useFileDrop(enabled: boolean, onFiles: (files: File[]) => void): FileDrop {
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  const carriesFiles = (e: DragEvent) => enabled && !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  return {
    dragging,
    handlers: {
      onDragEnter(e) {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        depth.current++;
        setDragging(true);
      },
      onDragOver(e) {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        e.dataTransfer!.dropEffect = "copy";
      },
      onDragLeave(e) {
        if (!carriesFiles(e)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      },
      onDrop(e) {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        depth.current = 0;
        setDragging(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length) onFiles(files);
      },
    },
  };
}

/** What covers the chat while files are dragged over it. */
export function DropOverlay() {
  return (
    <div class="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
      <div class="drop-target">
        <UploadIcon />
        <span>Drop to send</span>
      </div>
    </div>
  );
}
