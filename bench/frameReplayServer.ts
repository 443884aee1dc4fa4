/**
 * A stand-in server on loopback that answers any WebSocket upgrade and then writes a fixed list of
 * text frames, ignoring whatever the client sends. It costs next to nothing per frame, so a client's
 * receive rate against it is the client's own limit. `oneWritePerFrame` sends each frame in a TCP
 * write of its own, a turn of the event loop apart, as a server that sends frame by frame does;
 * otherwise all frames go in one write and arrive in large reads.
 *
 * It runs in a child process of its own (`startFrameReplayProcess`), so its CPU is not the client's.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The header of an unmasked text frame (server to client) carrying `length` bytes. */
function textFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length]);
  if (length < 65_536) {
    const header = Buffer.from([0x81, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

function encodeFrame(frame: string): Buffer {
  const payload = Buffer.from(frame, "utf8");
  return Buffer.concat([textFrameHeader(payload.length), payload]);
}

/** Starts the server on 127.0.0.1 in this process; every connection gets all `frames`. */
async function startFrameReplayServer(frames: string[], oneWritePerFrame = false): Promise<{ base: string; close(): void }> {
  const encoded = frames.map(encodeFrame);
  const body = Buffer.concat(encoded);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.on("data", () => {}); // client frames (acks, heartbeats) are read and dropped
      const header = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "im").exec(head.slice(0, end))?.[1]?.trim();
      const accept = createHash("sha1").update(`${header("Sec-WebSocket-Key")}${WEBSOCKET_GUID}`).digest("base64");
      const protocol = header("Sec-WebSocket-Protocol")?.split(",")[0]?.trim();
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ""}\r\n`,
      );
      if (!oneWritePerFrame) {
        socket.write(body);
        return;
      }
      socket.setNoDelay(true);
      let i = 0;
      const next = () => {
        if (i < encoded.length && !socket.destroyed) socket.write(encoded[i++]!, () => setImmediate(next));
      };
      next();
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Starts the server in a child process (this file run by the same Node and loader). */
export async function startFrameReplayProcess(frames: string[], oneWritePerFrame: boolean): Promise<{ base: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "parley-frames-"));
  const file = join(dir, "frames.json");
  writeFileSync(file, JSON.stringify(frames));
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), file, oneWritePerFrame ? "per-frame" : "one-write"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const close = () => {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the stand-in server did not start within 30 s")), 30_000);
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split("\n").find((l) => l.startsWith("http://"));
        if (line) (clearTimeout(timer), resolve(line.trim()));
      });
      child.on("exit", (code) => (clearTimeout(timer), reject(new Error(`the stand-in server exited (${code})`))));
    });
    return { base, close };
  } catch (err) {
    close();
    throw err;
  }
}

// Run as a child: serve the frames in the file named by argv[2] until killed.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const frames = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as string[];
  const server = await startFrameReplayServer(frames, process.argv[3] === "per-frame");
  console.log(server.base);
}
