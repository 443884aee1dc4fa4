/**
 * The workerd floor's Worker: the least a Durable Object chat can do, to show what the runtime costs
 * before any of Parley's logic. A client socket (`/?room=R&user=U`) goes to the object named R and is
 * accepted there as a hibernatable socket. A message sent on it is stored (one INSERT, so one commit,
 * as in Parley), written to every other socket of that object, and acknowledged to its sender; the
 * runtime's output gate holds both writes until the commit is on disk. No auth, no validation, no
 * fan-out through other objects: a conversation's members have a socket of their own in its object.
 *
 * Frames (JSON text, the ws floor's):
 *   → {"t":"send","body":B,…}   ← others {"t":"msg","from":U,"body":B}, the sender {"t":"ack"}
 *   → {"t":"ping","ref":N}      ← {"t":"ok","ref":N}
 */
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

export class Entry extends WorkerEntrypoint {
  fetch(request) {
    const url = new URL(request.url);
    const room = url.searchParams.get("room");
    if (!room || !url.searchParams.get("user") || request.headers.get("Upgrade") !== "websocket") {
      return new Response("a websocket to /?room=R&user=U\n", { status: 400 });
    }
    return this.env.ROOMS.get(this.env.ROOMS.idFromName(room)).fetch(request);
  }
}

export class Room extends DurableObject {
  #table = false;

  fetch(request) {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(new URL(request.url).searchParams.get("user"));
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, data) {
    const frame = JSON.parse(data);
    if (frame.t === "send") {
      // Made in the message's turn (the first time too): one implicit transaction, one commit.
      if (!this.#table) {
        this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, body TEXT NOT NULL)");
        this.#table = true;
      }
      const from = ws.deserializeAttachment();
      this.ctx.storage.sql.exec("INSERT INTO messages (sender, body) VALUES (?, ?)", from, frame.body);
      const out = JSON.stringify({ t: "msg", from, body: frame.body });
      for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(out);
      ws.send('{"t":"ack"}');
    } else if (frame.t === "ping") {
      ws.send(JSON.stringify({ t: "ok", ref: frame.ref }));
    }
  }

  webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      /* already closed */
    }
  }

  webSocketError() {}
}
