/**
 * The floor: the least a WebSocket chat server can do, to show what the runtime and the socket
 * library cost before any product logic. Rooms with member lists (1:1 is a room of two), each
 * message parsed once and its frame built once and written to every socket (device) of every
 * other member; nothing stored except an in-memory backlog per user with no socket open, replayed
 * one frame per message when the user connects. No accounts, no ordering guarantees beyond the
 * socket's, no acks.
 *
 * Run as its own process (Node 22 strips the types): `node bench/peers/wsFloor.ts PORT`.
 * Frames, all JSON text:
 *   connect  ws://127.0.0.1:PORT/?user=NAME
 *   → {"t":"room","room":R,"members":[...],"ref":N}   ← {"t":"ok","ref":N}   (creates or replaces R)
 *   → {"t":"send","room":R,"body":B}                  ← others get {"t":"msg","room":R,"from":U,"body":B}
 *   → {"t":"ping","ref":N}                            ← {"t":"ok","ref":N}
 */
import { WebSocketServer, type WebSocket } from "ws";

const BACKLOG_LIMIT = 100_000; // per offline user; the oldest go first beyond it

const port = Number(process.argv[2]);
const rooms = new Map<string, string[]>();
/** Each user's open sockets (one per device). */
const online = new Map<string, Set<WebSocket>>();
const backlog = new Map<string, string[]>();

const server = new WebSocketServer({ host: "127.0.0.1", port });

server.on("connection", (socket, request) => {
  const user = new URL(request.url ?? "/", "http://floor").searchParams.get("user");
  if (!user) {
    socket.close(1008, "user required");
    return;
  }
  let devices = online.get(user);
  if (!devices) online.set(user, (devices = new Set()));
  devices.add(socket);
  const waiting = backlog.get(user);
  if (waiting) {
    backlog.delete(user);
    for (const frame of waiting) socket.send(frame);
  }
  socket.on("message", (data) => {
    let frame: { t?: unknown; room?: unknown; members?: unknown; body?: unknown; ref?: unknown };
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (frame.t === "send" && typeof frame.room === "string" && typeof frame.body === "string") {
      const members = rooms.get(frame.room);
      if (!members) return;
      const out = JSON.stringify({ t: "msg", room: frame.room, from: user, body: frame.body });
      for (const member of members) {
        if (member === user) continue;
        const targets = online.get(member);
        if (targets) for (const target of targets) target.send(out);
        else queue(member, out);
      }
    } else if (frame.t === "room" && typeof frame.room === "string" && Array.isArray(frame.members)) {
      rooms.set(frame.room, frame.members.map(String));
      socket.send(JSON.stringify({ t: "ok", ref: frame.ref }));
    } else if (frame.t === "ping") {
      socket.send(JSON.stringify({ t: "ok", ref: frame.ref }));
    }
  });
  socket.on("close", () => {
    devices.delete(socket);
    if (devices.size === 0 && online.get(user) === devices) online.delete(user);
  });
  socket.on("error", () => socket.terminate());
});

function queue(user: string, frame: string) {
  let list = backlog.get(user);
  if (!list) backlog.set(user, (list = []));
  list.push(frame);
  if (list.length > BACKLOG_LIMIT) list.shift();
}

process.on("SIGTERM", () => {
  for (const devices of online.values()) for (const socket of devices) socket.terminate();
  server.close(() => process.exit(0));
});
