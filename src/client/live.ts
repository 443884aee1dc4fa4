import type { ServerFrame } from "../protocol/frames";
import { syncFrame } from "./catch-up";
import { Connection, socketUrl, type ConnectionOptions } from "./connection";

/** What a live socket shares with the device socket, and what it hands back. */
export interface LiveSocketOptions {
  baseUrl: string;
  socket: Pick<ConnectionOptions, "createSocket" | "backoff" | "heartbeatMs" | "token">;
  /** The highest seq held with nothing missing below it, where the live socket's sync starts. */
  contiguousSeq(conversationId: string): number | null;
  onFrame(frame: ServerFrame): void;
}

/**
 * The conversation's live socket, the fastest path for the conversation on screen (served by the
 * conversation object itself). Messages arriving on both sockets are merged by seq. One at a time:
 * watching another conversation closes the previous live socket.
 */
export class LiveSocket {
  private live: { conversationId: string; connection: Connection } | null = null;

  constructor(private readonly options: LiveSocketOptions) {}

  watch(conversationId: string): void {
    if (this.live?.conversationId === conversationId) return;
    this.unwatch();
    const connection: Connection = new Connection({
      ...this.options.socket,
      url: socketUrl(this.options.baseUrl, `/api/v1/conversations/${encodeURIComponent(conversationId)}/ws`),
      // The live socket sends only what is stored after it opened; sync closes any gap behind it.
      onOpen: () => {
        const top = this.options.contiguousSeq(conversationId);
        if (top !== null) connection.send([syncFrame(conversationId, top)]);
      },
      onFrame: (frame) => {
        if (frame.type === "new_message" || frame.type === "typing") this.options.onFrame(frame);
      },
      onState: () => {},
      onProtocolError: () => {},
    });
    this.live = { conversationId, connection };
    connection.start();
  }

  unwatch(): void {
    this.live?.connection.stop();
    this.live = null;
  }
}
