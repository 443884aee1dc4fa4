/**
 * A minimal WebSocket client (RFC 6455, text frames, no extensions) for the SDK's `createSocket`.
 *
 * Node's WebSocket, like browsers', offers permessage-deflate, and the runtime accepts it: each
 * socket then keeps zlib state on both ends. This client offers nothing, so the same SDK and the
 * same frames can be measured without compression negotiated.
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { SocketFactory, SocketLike } from "../src/client";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export const plainWebSocket: SocketFactory = (url, protocols) => new PlainWebSocket(url, protocols);

class PlainWebSocket implements SocketLike {
  readyState = CONNECTING;
  private readonly listeners = new Map<string, ((event: any) => void)[]>();
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private handshaken = false;
  private readonly key = randomBytes(16).toString("base64");
  /** Fragments of a message split over several frames. */
  private fragments: Buffer[] = [];

  constructor(url: string, protocols: string[]) {
    const target = new URL(url);
    this.socket = connect(Number(target.port || 80), target.hostname);
    this.socket.setNoDelay(true);
    this.socket.on("connect", () => {
      this.socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n` +
          (protocols.length ? `Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n` : "") +
          "\r\n",
      );
    });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", () => this.dispatch("error", {}));
    this.socket.on("close", () => this.finish(1006));
  }

  addEventListener(type: string, listener: (event: any) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error("socket not open");
    this.writeFrame(0x1, Buffer.from(data, "utf8"));
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === OPEN) {
      const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
      payload.writeUInt16BE(code, 0);
      payload.write(reason, 2);
      this.writeFrame(0x8, payload);
    }
    this.socket.end();
    this.finish(code);
  }

  private finish(code: number) {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.socket.destroy();
    this.dispatch("close", { code });
  }

  private writeFrame(opcode: number, payload: Buffer) {
    const mask = randomBytes(4);
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x80 | opcode, 0x80 | length])
        : length < 65_536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(length)]);
    const masked = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.handshaken) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString("latin1");
      this.buffer = this.buffer.subarray(end + 4);
      const accept = createHash("sha1").update(`${this.key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      if (!/^HTTP\/1\.1 101/.test(head) || !head.includes(accept)) {
        this.dispatch("error", {});
        this.finish(1006);
        return;
      }
      this.handshaken = true;
      this.readyState = OPEN;
      this.dispatch("open", {});
    }
    this.readFrames();
  }

  private readFrames() {
    for (;;) {
      if (this.buffer.length < 2) return;
      const fin = (this.buffer[0]! & 0x80) !== 0;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x9) this.writeFrame(0xa, payload); // ping → pong
      else if (opcode === 0x8) this.finish(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
      else if (opcode === 0x1 || opcode === 0x0) {
        this.fragments.push(payload);
        if (fin) {
          const data = Buffer.concat(this.fragments).toString("utf8");
          this.fragments = [];
          this.dispatch("message", { data });
        }
      }
    }
  }

  private dispatch(type: string, event: object) {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
