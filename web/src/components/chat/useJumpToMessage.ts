import type { MutableRef } from "preact/hooks";
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../../context";

/** How long a message the reader jumped to stays highlighted. */
const HIGHLIGHT_MS = 1_600;
/** How long to wait for a message loaded by `jumpTo` to be rendered. */
const RENDER_WAIT_MS = 2_000;

interface Jump {
  /** Scrolls to the message with this seq, loading older history first if it is not in the chat yet. */
  jump(seq: number): Promise<void>;
  /** Why the last jump went nowhere (the message is gone), until the next one. */
  notice: string | null;
}

/**
 * Going to a message (a reply's quote, a starred message): found in the log, or fetched with
 * `client.jumpTo` and then found once rendered; scrolled to the middle of the view and briefly
 * highlighted. The log stops following the newest message while the reader looks at an older one.
 */
export function useJumpToMessage(id: string, scroller: MutableRef<HTMLDivElement | null>, atBottom: MutableRef<boolean>): Jump {
  const { client } = useApp();
  const [notice, setNotice] = useState<string | null>(null);
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => () => timers.current.forEach(clearTimeout), []);

  const find = (seq: number) => scroller.current?.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"]`) ?? null;

  async function jump(seq: number) {
    setNotice(null);
    let el = find(seq);
    if (!el) {
      atBottom.current = false;
      const found = await client.jumpTo(id, seq).catch(() => false);
      if (found) el = await rendered(() => find(seq));
    }
    if (!el) {
      setNotice("That message isn't available any more.");
      return;
    }
    atBottom.current = false;
    const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
    el.scrollIntoView({ block: "center", behavior: smooth ? "smooth" : "auto" });
    el.dataset.highlighted = "true";
    const timer = setTimeout(() => {
      delete el!.dataset.highlighted;
      timers.current.delete(timer);
    }, HIGHLIGHT_MS);
    timers.current.add(timer);
  }

  return { jump, notice };
}

/** Waits (frame by frame) for an element the next render brings. */
function rendered(find: () => HTMLElement | null): Promise<HTMLElement | null> {
  const deadline = performance.now() + RENDER_WAIT_MS;
  return new Promise((resolve) => {
    const look = () => {
      const el = find();
      if (el || performance.now() > deadline) resolve(el);
      else requestAnimationFrame(look);
    };
    look();
  });
}
