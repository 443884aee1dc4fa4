import type { JSX } from "preact";
import type { MutableRef } from "preact/hooks";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../../context";

/** How near the bottom (px) still counts as "at the newest message". */
const BOTTOM_SLACK = 48;

interface HistoryScroll {
  /** The scrolling message log. */
  scroller: MutableRef<HTMLDivElement | null>;
  /** Above the oldest message: when it comes into view, the page before it is loaded. */
  sentinel: MutableRef<HTMLDivElement | null>;
  loadingOlder: boolean;
  onScroll(e: JSX.TargetedEvent<HTMLDivElement>): void;
}

/**
 * The message log's scrolling: older pages load as the reader nears the top (infinite scroll), and the
 * view stays where the reader left it — at the bottom if it was there (`atBottom`, also set by sending),
 * or on the same message after an older page renders above it.
 */
export function useHistoryScroll(id: string, ready: boolean, entryCount: number, atBottom: MutableRef<boolean>): HistoryScroll {
  const { client } = useApp();
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const restore = useRef<{ height: number; top: number; count: number } | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);

  // After every render: back on the same message once older ones are in, else pinned to the bottom if it was.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const r = restore.current;
    if (r && entryCount !== r.count) {
      el.scrollTop = el.scrollHeight - r.height + r.top;
      restore.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  useEffect(() => {
    const el = scroller.current;
    const top = sentinel.current;
    if (!ready || !el || !top) return;
    let busy = false;
    const observer = new IntersectionObserver(
      async (items) => {
        if (busy || !items.some((i) => i.isIntersecting) || !client.hasOlder(id)) return;
        busy = true;
        setLoadingOlder(true);
        restore.current = { height: el.scrollHeight, top: el.scrollTop, count: client.entries(id).length };
        try {
          const added = await client.loadOlder(id);
          if (added === 0) restore.current = null;
        } catch {
          restore.current = null;
        }
        busy = false;
        setLoadingOlder(false);
        // Still in view (a short page)? Observing again reports the current state.
        observer.unobserve(top);
        observer.observe(top);
      },
      { root: el, rootMargin: "300px 0px 0px 0px" },
    );
    observer.observe(top);
    return () => observer.disconnect();
  }, [ready, id]);

  function onScroll(e: JSX.TargetedEvent<HTMLDivElement>) {
    const el = e.currentTarget;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
  }

  return { scroller, sentinel, loadingOlder, onScroll };
}
