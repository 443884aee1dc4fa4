import { describe, expect, it, vi } from "vitest";
import { closeSocket } from "../../src/objects/sockets";

/** Both ends of a real socket pair (workerd's), accepted, with the close each end receives. */
function pair() {
  const [peer, ours] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  peer.accept();
  ours.accept();
  const peerGot = new Promise<{ code: number; reason: string }>((resolve) => peer.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  return { peer, ours, peerGot };
}

/** Nothing arrives at the peer within a few turns of the event loop. */
async function nothingArrives<T>(arrival: Promise<T>): Promise<boolean> {
  return (await Promise.race([arrival.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 50))])) as boolean;
}

describe("closeSocket", () => {
  it("closes with the code and reason given", async () => {
    const { ours, peerGot } = pair();
    closeSocket(ours, 4003, "logged out");
    expect(await peerGot).toEqual({ code: 4003, reason: "logged out" });
  });

  it("answers a close without a code (1005) with 1000: 1005 may not be sent", async () => {
    const { ours, peerGot } = pair();
    const close = vi.spyOn(ours, "close");
    closeSocket(ours, 1005, "");
    expect(close).toHaveBeenCalledWith(1000, "");
    expect((await peerGot).code).toBe(1000);
  });

  it("sends nothing for 1006 or 1015: they report a transport that is gone", async () => {
    for (const code of [1006, 1015]) {
      const { ours, peerGot } = pair();
      const close = vi.spyOn(ours, "close");
      closeSocket(ours, code, "gone");
      expect(close).not.toHaveBeenCalled();
      expect(ours.readyState).toBe(WebSocket.OPEN);
      expect(await nothingArrives(peerGot)).toBe(true);
    }
  });

  it("does nothing on a socket that is already CLOSED", () => {
    const close = vi.fn();
    closeSocket({ readyState: WebSocket.CLOSED, close } as unknown as WebSocket, 1000, "bye");
    expect(close).not.toHaveBeenCalled();
  });

  it("never throws: not on a second close, an invalid code, or a socket whose close throws", async () => {
    const { ours, peerGot } = pair();
    closeSocket(ours, 1000, "bye");
    expect(() => closeSocket(ours, 1000, "bye again")).not.toThrow();
    expect((await peerGot).reason).toBe("bye");
    const fresh = pair();
    expect(() => closeSocket(fresh.ours, 999, "not a close code")).not.toThrow();
    const throwing = {
      readyState: WebSocket.OPEN,
      close: () => {
        throw new TypeError("the socket is closing");
      },
    } as unknown as WebSocket;
    expect(() => closeSocket(throwing, 1000, "bye")).not.toThrow();
  });
});
