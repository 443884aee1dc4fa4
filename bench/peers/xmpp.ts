/**
 * Prosody and ejabberd seen through the same client: accounts by XEP-0077 in-band registration on
 * a raw stream (a real account with a hashed password, as a sign-up would make), sessions through
 * `@xmpp/client` (SCRAM-SHA-1 login, resource binding, initial presence), 1:1 as `chat` messages to
 * the bare JID, groups as a XEP-0045 multi-user chat room that every member joins.
 */
import { pbkdf2 } from "node:crypto";
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { promisify } from "node:util";
import { client as xmppClient, xml, type Element, type XmppClient } from "@xmpp/client";
import { sleep } from "../lib";
import type { ConnectOptions, Conversation, PeerClient, RunningPeer } from "./peer";
import { logTail, type ServerProcess } from "./process";

export const DOMAIN = "bench.local";
export const MUC_DOMAIN = `muc.${DOMAIN}`;
const PASSWORD = "benchmark-password";

/** What holds for both XMPP servers as the bench drives them (each adds its own notes). */
export const XMPP_NOTES = [
  "Delivery has no acknowledgement: a message is written to the recipient's socket (or to offline storage) and the sender hears nothing (no XEP-0198 stream management, no XEP-0184 receipts).",
  "1:1 is a `chat` message to the recipient's bare JID; each idle device is one more resource of its user.",
  "Groups are XEP-0045 rooms (no history replay); every member joins, so each join is broadcast to the room as presence.",
];
const MUC = "http://jabber.org/protocol/muc";

/**
 * `@xmpp/client`'s SCRAM-SHA-1 computes Hi() as 4,096 awaited WebCrypto HMACs, each importing the
 * key again: 250–400 ms of client time per login, which would be counted against the servers in
 * every figure that includes a login. Hi() is PBKDF2-HMAC-SHA1 with a 20-byte output: Node's
 * native one gives the same bytes in ~2 ms, off the event loop.
 */
const pbkdf2Async = promisify(pbkdf2);
(createRequire(import.meta.url)("sasl-scram-sha-1/lib/bitops.js") as { Hi: unknown }).Hi = async (text: string, salt: Uint8Array, iterations: number) =>
  new Uint8Array(await pbkdf2Async(text, salt, iterations, 20, "sha1"));

/** Escapes text for an XML element body or attribute. */
const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * One raw client stream that registers accounts one after another (both servers accept several
 * XEP-0077 registrations on one unauthenticated stream). Rejects on an error answer, a closed
 * stream or `timeoutMs` without an answer.
 */
export async function registerOnStream(port: number, users: string[], timeoutMs = 30_000): Promise<void> {
  const socket = new Socket();
  let buffer = "";
  let failure: Error | null = null;
  let wake: () => void = () => {};
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    wake();
  });
  socket.on("error", (err) => ((failure = err), wake()));
  socket.on("close", () => ((failure ??= new Error("stream closed")), wake()));
  const until = async (test: () => RegExpMatchArray | null, what: string) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = test();
      if (match) return match;
      if (failure) throw new Error(`${what}: ${failure.message}; server said: ${buffer.slice(-300)}`);
      if (Date.now() > deadline) throw new Error(`${what}: no answer in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, "127.0.0.1", () => resolve());
    });
    socket.write(
      `<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' ` +
        `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
    );
    await until(() => buffer.match(/<\/stream:features>/), "stream features");
    for (const [n, user] of users.entries()) {
      const id = `reg${n}`;
      socket.write(
        `<iq type='set' id='${id}'><query xmlns='jabber:iq:register'>` +
          `<username>${escapeXml(user)}</username><password>${PASSWORD}</password></query></iq>`,
      );
      const answer = await until(() => buffer.match(new RegExp(`<iq[^>]*id=['"]${id}['"][^>]*>`)), `registering ${user}`);
      if (!/type=['"]result['"]/.test(answer[0])) {
        throw new Error(`registering ${user} refused: ${buffer.slice(answer.index, answer.index! + 400)}`);
      }
      buffer = buffer.slice(answer.index! + answer[0].length);
    }
    socket.write("</stream:stream>");
  } finally {
    socket.destroy();
  }
}

/**
 * Polls until the server answers a real request (an in-band registration), every 20 ms for at
 * most `timeoutMs`; returns the time since `startedAt`.
 */
export async function untilRegistrationAnswers(port: number, startedAt: number, server: ServerProcess, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await registerOnStream(port, [`probe${attempt}x${Math.random().toString(36).slice(2, 8)}`], 5_000);
      return performance.now() - startedAt;
    } catch (err) {
      if (server.exited()) throw new Error(`the server exited while starting`);
      if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await sleep(20);
    }
  }
}

class XmppPeerClient implements PeerClient {
  private handlers: ((body: string) => void)[] = [];

  constructor(
    readonly user: string,
    private readonly xmpp: XmppClient,
  ) {
    xmpp.on("stanza", (stanza) => {
      // An error bounce carries the original body: it is not a delivery.
      if (!stanza.is("message") || stanza.attrs.type === "error") return;
      const body = stanza.getChildText("body");
      if (body === null) return; // a room subject, a chat state
      // A room reflects each message to its sender as well: others' messages only.
      if (stanza.attrs.type === "groupchat" && stanza.attrs.from?.endsWith(`/${this.user}`)) return;
      for (const h of this.handlers) h(body);
    });
  }

  send(conversation: Conversation, body: string): Promise<void> {
    const type = conversation.kind === "group" ? "groupchat" : "chat";
    return this.xmpp.send(xml("message", { to: conversation.address, type }, xml("body", {}, body)));
  }

  onMessage(handler: (body: string) => void) {
    this.handlers.push(handler);
  }

  async roundTrip() {
    await this.xmpp.iqCaller.request(xml("iq", { type: "get", to: DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })), 120_000);
  }

  /** Joins a room and waits for the room's answer (the self-presence, or an error). */
  async join(room: string): Promise<void> {
    const occupant = `${room}/${this.user}`;
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`joining ${room}: no answer in 60 s`)), 60_000);
      this.xmpp.on("stanza", (stanza) => {
        if (!stanza.is("presence") || stanza.attrs.from !== occupant) return;
        clearTimeout(timer);
        if (stanza.attrs.type === "error") reject(new Error(`joining ${room} refused: ${stanza.toString()}`));
        else resolve();
      });
    });
    joined.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    // No history: the bench measures live delivery only.
    await this.xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: MUC }, xml("history", { maxstanzas: "0" }))));
    await joined;
  }

  /** Accepts the default configuration of a room this client just created (an "instant room"). */
  async unlockRoom(room: string): Promise<void> {
    await this.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: room }, xml("query", { xmlns: `${MUC}#owner` }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))),
      30_000,
    );
  }

  async close() {
    try {
      await this.xmpp.stop();
    } catch {
      /* the server may already have closed the stream */
    }
  }

  drop() {
    this.xmpp.socket?.destroy();
  }
}

/** Logs `user` in on 127.0.0.1:`port`, binds a resource (the device) and sends initial presence. */
export async function connectXmpp(port: number, user: string, opts: ConnectOptions = {}): Promise<XmppPeerClient> {
  const xmpp = xmppClient({
    service: `xmpp://127.0.0.1:${port}`,
    domain: DOMAIN,
    username: user,
    password: PASSWORD,
    resource: opts.device ?? "bench",
    // Under the load of thousands of logins on two cores, the 2 s default is too short.
    timeout: 60_000,
  });
  xmpp.reconnect.stop(); // a dropped session must show as a failure, not heal silently
  let failure: unknown = null;
  xmpp.on("error", (err) => (failure ??= err));
  const client = new XmppPeerClient(user, xmpp);
  if (opts.onMessage) client.onMessage(opts.onMessage);
  try {
    await xmpp.start();
  } catch (err) {
    failure ??= err;
  }
  if (failure) {
    xmpp.socket?.destroy();
    const e = failure as { condition?: string; text?: string; message?: string };
    throw new Error(`login of ${user}/${opts.device ?? "bench"} failed: ${[e.condition, e.text, e.message].filter(Boolean).join(" – ") || String(failure)}`);
  }
  // Initial presence: without it the servers treat the user as unavailable and store its messages offline.
  await xmpp.send(xml("presence"));
  return client;
}

/**
 * Waits until a just-spawned Prosody or ejabberd answers on `port`, then drives it; if it never
 * does, stops it and throws with the end of its logs.
 */
export async function xmppServerReady(
  name: string,
  server: ServerProcess,
  port: number,
  dir: { path: string; remove(): void },
  logFiles: string[],
): Promise<RunningPeer> {
  try {
    const coldStartMs = await untilRegistrationAnswers(port, server.startedAt, server);
    return xmppPeer(server, port, coldStartMs, dir.remove);
  } catch (err) {
    const tail = logFiles.map((f) => logTail(f)).join("\n");
    await server.stop();
    dir.remove();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${tail}`);
  }
}

/** A started Prosody or ejabberd with its c2s listener on `port`. */
function xmppPeer(process: ServerProcess, port: number, coldStartMs: number, cleanup: () => void): RunningPeer {
  let rooms = 0;
  return {
    process,
    coldStartMs,
    async register(users) {
      // A few streams in parallel: registration hashes each password (PBKDF2), the server's real cost.
      const streams = 4;
      const share = Math.ceil(users.length / streams);
      await Promise.all(Array.from({ length: streams }, (_, i) => registerOnStream(port, users.slice(i * share, (i + 1) * share), 120_000)));
    },
    connect: (user, opts) => connectXmpp(port, user, opts),
    async direct(_from, to) {
      return { kind: "direct", address: `${to}@${DOMAIN}` };
    },
    async group(owner, members) {
      const room = `bench${rooms++}@${MUC_DOMAIN}`;
      const creator = owner as XmppPeerClient;
      await creator.join(room);
      await creator.unlockRoom(room);
      for (let i = 0; i < members.length; i += 50) {
        await Promise.all(members.slice(i, i + 50).map((m) => (m as XmppPeerClient).join(room)));
      }
      return { kind: "group", address: room };
    },
    async stop() {
      await process.stop();
      cleanup();
    },
  };
}

export type { Element };
