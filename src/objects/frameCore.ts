import { log } from "../lib/log";
import type { Result } from "../lib/result";
import {
  ErrorCode,
  Limits,
  actionOutgoing,
  forwardOutgoing,
  parseClientMessage,
  type ClientFrame,
  type HistoryResponse,
  type Outgoing,
  type ProtocolError,
} from "../protocol";
import type { SendOutcome } from "./conversation/sending";
import { historyRateLimited, sendRateLimited } from "../lib/sendRate";
import { SendBlocks, SocketSyncs, syncsFull } from "./socketLimits";
import { errorFrame, heartbeatAckFrame, newMessageFrame, sendFrame, sendFrames, sendOutcomeFrame } from "./sockets";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;
type Answer<T> = T | Promise<T>;

/** Who is on a socket, as the core needs it: both socket kinds' sessions carry at least this. */
export interface FrameSocket {
  ws: WebSocket;
  userId: string;
  /** Speaks `parley.v2`: several frames may go as one JSON array. */
  batched: boolean;
}

/** A send the core has admitted, on its way to storage. */
export interface AdmittedSend {
  conversationId: string;
  message: Outgoing;
}

/**
 * The frames that become rows of a conversation's sequence — messages, actions, forwards — as the
 * send path's rows: they share the rate, the hold-back, the order and the acks.
 */
function asSend(frame: FrameOf<"send_message" | "message_action" | "forward_message">): AdmittedSend {
  switch (frame.type) {
    case "send_message": {
      const { type: _t, conversation_id, ...message } = frame;
      return { conversationId: conversation_id, message };
    }
    case "message_action":
      return { conversationId: frame.conversation_id, message: actionOutgoing(frame, frame.server_msg_id) };
    case "forward_message":
      return { conversationId: frame.conversation_id, message: forwardOutgoing(frame.client_msg_id, frame.from) };
  }
}

/**
 * What a socket kind does with a frame once the core has parsed, scoped and rate-limited it. The
 * device socket (user object) reaches conversations by RPC and batches sends across devices; the
 * live socket (conversation object) stores in place. Everything else — parsing, refusals and their
 * texts, the hold-back after a refused send, one sync at a time, how acks, pages and errors are
 * encoded and batched — is the core's, so both sockets answer the same frames the same way.
 */
export interface FramePort<S extends FrameSocket> {
  /** The one conversation this socket serves (a live socket), or null for any of the user's. */
  readonly scope: string | null;
  /** How many of `count` sends the user's one send rate lets go now. */
  admitSends(socket: S, conversationIds: string[]): Answer<number>;
  /**
   * Stores admitted sends, in order. Returns their outcomes for the core to answer, or null when
   * the port answers them itself later (the device outbox: acks go to the device's socket open then).
   */
  store(socket: S, sends: AdmittedSend[]): Answer<Result<SendOutcome[]>> | null;
  /** A delivered/read acknowledgement; a refusal is answered as an error frame. */
  status(socket: S, frame: FrameOf<"message_status">): Answer<Result<unknown>>;
  /** Whether the user's history budget allows another page now. */
  admitHistory(socket: S): Answer<boolean>;
  history(socket: S, conversationId: string, query: { after: number; limit: number }): Promise<Result<HistoryResponse>>;
  typing(socket: S, frame: FrameOf<"typing">): Answer<Result<unknown> | null>;
  /** Presence is watched on device sockets only; null where the socket kind does not serve it. */
  presenceSubscribe: ((socket: S, frame: FrameOf<"presence_subscribe">) => Promise<void>) | null;
}

const internalError: ProtocolError = { code: ErrorCode.internal, message: "internal error" };
const couldNotStore: ProtocolError = { code: ErrorCode.internal, message: "could not store the message; retry" };
const presenceElsewhere: ProtocolError = { code: ErrorCode.badRequest, message: "subscribe to presence on the device socket" };
const oneConversation: ProtocolError = { code: ErrorCode.badRequest, message: "this socket serves one conversation: use the device socket for others" };

/**
 * The frame core: one per object, shared by all its sockets of one kind. Per-socket state (the
 * hold-back, the sync queue) lives in weak maps keyed by the socket, so it goes with the socket.
 */
export class FrameCore<S extends FrameSocket> {
  readonly #sendBlocks = new SendBlocks();
  readonly #syncs = new SocketSyncs();

  constructor(
    private readonly port: FramePort<S>,
    /** What names the socket kind in logs. */
    private readonly kind: "device" | "live",
  ) {}

  /**
   * One socket message: a frame or an array of them, handled in order. Every frame of the message
   * starts before any is awaited, so the message's sends are admitted and stored as one batch.
   * Never throws: a bad frame is an error frame, and a failing handler an internal error.
   */
  async receive(socket: S, raw: string | ArrayBuffer): Promise<void> {
    const sends: AdmittedSend[] = [];
    const pending: Promise<void>[] = [];
    for (const parsed of parseClientMessage(raw)) {
      if (!parsed.ok) {
        sendFrame(socket.ws, JSON.stringify(parsed.error));
        continue;
      }
      const frame = parsed.frame;
      if (frame.type !== "heartbeat" && frame.type !== "presence_subscribe" && this.port.scope !== null && frame.conversation_id !== this.port.scope) {
        this.refuse(socket, oneConversation, "client_msg_id" in frame ? frame.client_msg_id : undefined);
        continue;
      }
      switch (frame.type) {
        case "send_message":
        case "message_action":
        case "forward_message":
          sends.push(asSend(frame));
          break;
        case "heartbeat":
          // Normally answered by the runtime's auto-response without waking the object; this
          // catches other spellings of the same frame.
          sendFrame(socket.ws, heartbeatAckFrame);
          break;
        case "message_status":
          pending.push(this.answer(socket, frame, () => this.port.status(socket, frame)));
          break;
        case "typing":
          pending.push(this.answer(socket, frame, () => this.port.typing(socket, frame)));
          break;
        case "sync":
          pending.push(this.sync(socket, frame));
          break;
        case "presence_subscribe": {
          const subscribe = this.port.presenceSubscribe;
          if (subscribe) pending.push(this.answer(socket, frame, () => subscribe(socket, frame).then(() => null)));
          else this.refuse(socket, presenceElsewhere);
          break;
        }
      }
    }
    if (sends.length > 0) pending.unshift(this.send(socket, sends));
    await Promise.all(pending);
  }

  /**
   * Sends past the user's rate are refused (the client sends them again later with the same ids),
   * and so is every later send on this socket until the first refused one comes back: otherwise a
   * message sent after it, finding the rate refilled, would be stored first. The hold-back lapses
   * after a while in case the client gave the message up.
   */
  private async send(socket: S, candidates: AdmittedSend[]): Promise<void> {
    const { ws } = socket;
    const now = Date.now();
    const blocker = this.#sendBlocks.blocker(ws, now);
    // Until the held-back send reappears, everything before it in this message waits too.
    const resumeAt = blocker !== undefined ? candidates.findIndex((m) => m.message.client_msg_id === blocker) : 0;
    const eligible = resumeAt < 0 ? [] : candidates.slice(resumeAt);
    const held = resumeAt < 0 ? candidates : candidates.slice(0, resumeAt);
    let granted = 0;
    try {
      if (eligible.length > 0) {
        const admitted = this.port.admitSends(socket, eligible.map((m) => m.conversationId));
        // A device socket's rate is in memory: answered in the same turn, so this message's sends
        // reach the outbox before the next message's.
        granted = typeof admitted === "number" ? admitted : await admitted;
      }
    } catch (error) {
      log.error("send rate check failed", { socket: this.kind, user_id: socket.userId, error });
      for (const m of candidates) sendFrame(ws, errorFrame(couldNotStore, m.message.client_msg_id));
      return;
    }
    const admitted = eligible.slice(0, granted);
    const refused = [...held, ...eligible.slice(granted)];
    // The first refused send holds the socket back (refused again, it is the same send); one that
    // was let through lifts the hold-back.
    if (granted < eligible.length) this.#sendBlocks.block(ws, eligible[granted]!.message.client_msg_id, now);
    else if (blocker !== undefined && granted > 0) this.#sendBlocks.release(ws);
    for (const m of refused) sendFrame(ws, errorFrame(sendRateLimited, m.message.client_msg_id));
    if (admitted.length === 0) return;
    const answerAll = (result: Result<SendOutcome[]>) => {
      const frames = result.ok ? result.value.map(sendOutcomeFrame) : admitted.map((m) => errorFrame(result.error, m.message.client_msg_id));
      sendFrames(ws, frames, socket.batched);
    };
    try {
      const stored = this.port.store(socket, admitted);
      if (stored === null) return;
      // Media sends resolve later; a failure is answered per message (sends are idempotent: the client resends).
      answerAll(stored instanceof Promise ? await stored : stored);
    } catch (error) {
      log.error("send failed", { socket: this.kind, user_id: socket.userId, error });
      answerAll({ ok: false, error: couldNotStore });
    }
  }

  /**
   * One `sync` at a time per socket (a few may wait their turn; more are refused), each drawing on
   * the user's history budget: a client cannot pull pages faster than it reads them. A page goes as
   * few socket messages as fit (arrays up to MAX_SERVER_BATCH_BYTES) to a `parley.v2` client.
   */
  private sync(socket: S, frame: FrameOf<"sync">): Promise<void> {
    const run = this.#syncs.run(socket.ws, async () => {
      if (!(await this.port.admitHistory(socket))) return void this.refuse(socket, historyRateLimited);
      const page = await this.port.history(socket, frame.conversation_id, { after: frame.after_seq, limit: frame.limit ?? Limits.historyMaxPage });
      if (!page.ok) return void this.refuse(socket, page.error);
      if (page.value.messages.length > 0) sendFrames(socket.ws, page.value.messages.map(newMessageFrame), socket.batched);
    });
    if (!run) {
      this.refuse(socket, syncsFull);
      return Promise.resolve();
    }
    return run.catch((error) => this.failed(socket, "sync", error));
  }

  /** Runs a frame's work and answers a refusal (or a failure) as an error frame; success is silent. */
  private async answer(socket: S, frame: ClientFrame, work: () => Answer<Result<unknown> | null>): Promise<void> {
    try {
      const result = await work();
      if (result && !result.ok) this.refuse(socket, result.error);
    } catch (error) {
      this.failed(socket, frame.type, error);
    }
  }

  private refuse(socket: S, error: ProtocolError, clientMsgId?: string) {
    sendFrame(socket.ws, errorFrame(error, clientMsgId));
  }

  /** One bad frame must not poison the object or the socket: log it, tell the client little. */
  private failed(socket: S, frame: string, error: unknown) {
    log.error("frame handler failed", { socket: this.kind, frame, user_id: socket.userId, error });
    this.refuse(socket, internalError);
  }
}
