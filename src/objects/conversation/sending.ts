import type { Env } from "../../env";
import { count } from "../../lib/metrics";
import { ok, type Result } from "../../lib/result";
import { checkOutgoing, ErrorCode, type ActionType, type MediaRef, type MessageAck, type Outgoing, type ProtocolError } from "../../protocol";
import type { Fanout } from "./fanout";
import { grant } from "../../media/records";
import { archivedReferences, checkAction, messageRelations, type ArchivedTargets, type CheckedAction } from "./actions";
import type { HistoryArchive } from "./archive";
import type { Erasure } from "./erasure";
import { isMediaRef, resolveMedia } from "./media";
import { memberRefusal, sendRefusal } from "./membership";
import type { SearchIndex } from "./search";
import type { MessageStates } from "./state";
import type { ConversationStore, NewRow } from "./store";

export type SendOutcome = { ok: true; ack: MessageAck } | { ok: false; client_msg_id: string; error: ProtocolError };

/** Told after messages were stored: fan-out starts, the alarm tasks are booked. */
export interface Appended {
  appended(): void;
  /** A delete for everyone left copies outside the hot rows to erase (erasure.ts). */
  erasing(): void;
}

/** Where a forward's original is read: the conversation holding it, which checks the sender may read it. */
export type ForwardLookup = (senderId: string, from: NonNullable<Outgoing["forward_of"]>) => Promise<Result<ForwardedContent>>;
/** What a forward copies of its original. */
export type ForwardedContent = Pick<NewRow, "content" | "content_type" | "media" | "forwarded">;

/** What a batch needed read before it could be stored (R2, another conversation). */
interface Prepared {
  media: Map<string, MediaRef | ProtocolError>;
  forwards: Map<string, ForwardedContent | ProtocolError>;
  archived: ArchivedTargets;
}

const nothingPrepared = (): Prepared => ({ media: new Map(), forwards: new Map(), archived: new Map() });

/**
 * The send path of a conversation: each batch of one sender's rows — messages, forwards, actions —
 * is stored in one transaction, in order, with an outcome per row. A repeated (sender,
 * client_msg_id) gets its original ack and stores nothing. The acks leave only once the batch is
 * durable (the output gate holds them); fan-out starts afterwards and is never awaited here.
 */
export class SendPath {
  /** Per sender, the send in flight that had to read first: later batches of that sender wait behind it. */
  private readonly slowSends = new Map<string, Promise<void>>();

  constructor(
    private readonly env: Env,
    private readonly store: ConversationStore,
    private readonly parts: {
      fanout: Fanout;
      archive: HistoryArchive;
      states: MessageStates;
      erasure: Erasure;
      search: SearchIndex;
      forwardLookup: ForwardLookup;
    },
    private readonly conversation: Appended,
  ) {}

  send(senderId: string, messages: Outgoing[], originDevice?: string): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>> {
    const denied = memberRefusal(this.store, senderId);
    if (denied) return denied;
    // Most rows are stored at once. Media (upload records), forwards (the original, in its
    // conversation) and rows naming archived messages are read first, so a sender's later batches
    // queue behind them: one sender's rows keep their send order.
    const ahead = this.slowSends.get(senderId);
    const archivedRefs = archivedReferences(this.store, this.parts.archive.archivedUpTo, messages);
    const slow = archivedRefs.length > 0 || messages.some((m) => m.media_id !== undefined || m.forward_of !== undefined);
    if (!ahead && !slow) return ok(this.storeBatch(senderId, messages, originDevice, nothingPrepared()));
    const run = (ahead ?? Promise.resolve()).then(async (): Promise<Result<SendOutcome[]>> => {
      const prepared = await this.prepare(senderId, messages);
      const denied = memberRefusal(this.store, senderId);
      if (denied) return denied;
      const outcomes = this.storeBatch(senderId, messages, originDevice, prepared);
      // Each media's grant now names its message's own seq: a member who joined after it never gets it.
      await Promise.all(
        outcomes.map((o) => {
          const attached = o.ok ? (prepared.media.get(o.ack.client_msg_id) ?? mediaOf(prepared.forwards.get(o.ack.client_msg_id))) : undefined;
          return o.ok && isMediaRef(attached) ? grant(this.env, attached.media_id, this.store.conversationId, o.ack.seq) : null;
        }),
      );
      return ok(outcomes);
    });
    const settled = run.then(
      () => {},
      () => {},
    );
    this.slowSends.set(senderId, settled);
    void settled.then(() => {
      if (this.slowSends.get(senderId) === settled) this.slowSends.delete(senderId);
    });
    return run;
  }

  private async prepare(senderId: string, messages: Outgoing[]): Promise<Prepared> {
    const head = this.store.lastSeq;
    const plain = messages.filter((m) => m.forward_of === undefined);
    const [media, forwards, archived] = await Promise.all([
      resolveMedia(this.env, senderId, this.store.conversationId, head, plain),
      this.resolveForwards(senderId, messages, head),
      this.readArchived(archivedReferences(this.store, this.parts.archive.archivedUpTo, messages)),
    ]);
    return { media, forwards, archived };
  }

  /** Each forward's original, read from its conversation (which checks the sender may read it). */
  private async resolveForwards(senderId: string, messages: Outgoing[], head: number): Promise<Map<string, ForwardedContent | ProtocolError>> {
    const out = new Map<string, ForwardedContent | ProtocolError>();
    await Promise.all(
      messages.map(async (m) => {
        if (m.forward_of === undefined) return;
        const found = await this.parts.forwardLookup(senderId, m.forward_of);
        if (!found.ok) return void out.set(m.client_msg_id, found.error);
        // Members may open the media before they see the message: granted at the head, then at its seq.
        if (found.value.media) await grant(this.env, found.value.media.media_id, this.store.conversationId, head + 1);
        out.set(m.client_msg_id, found.value);
      }),
    );
    return out;
  }

  private async readArchived(seqs: number[]): Promise<ArchivedTargets> {
    const out: ArchivedTargets = new Map();
    await Promise.all([...new Set(seqs)].map(async (seq) => out.set(seq, await this.parts.archive.messageAt(seq))));
    return out;
  }

  private storeBatch(senderId: string, messages: Outgoing[], originDevice: string | undefined, prepared: Prepared): SendOutcome[] {
    const now = Date.now();
    const before = this.store.lastSeq;
    let erasing = false;
    const outcomes = this.store.transaction(() => {
      const results = messages.map((m): SendOutcome => {
        const refuse = (error: ProtocolError): SendOutcome => {
          // A repeat of a row stored before still gets its ack, whatever the checks say now (the
          // edit window may have closed since, the media or the original may be gone).
          const existing = this.store.findBySenderKey(senderId, m.client_msg_id);
          return existing ? { ok: true, ack: existing } : { ok: false, client_msg_id: m.client_msg_id, error };
        };
        const refused = checkOutgoing(m);
        if (refused) return { ok: false, client_msg_id: m.client_msg_id, error: refused };
        const row = this.rowOf(senderId, m, prepared, now);
        if ("code" in row) return refuse(row);
        if (row.action?.repeats) {
          // Stores nothing while the earlier action is a hot row; once archived, a new row changes nothing either.
          const earlier = this.store.findBySenderKey(senderId, m.client_msg_id) ?? this.store.actionOn(row.action.targetSeq, senderId, m.content_type);
          if (earlier) return { ok: true, ack: { ...earlier, client_msg_id: m.client_msg_id } };
        }
        const stored = this.store.appendOnce(senderId, { ...row.row, client_msg_id: m.client_msg_id }, now);
        if (stored.fresh) {
          this.parts.fanout.noteOrigin(stored.seq, originDevice);
          if (row.action) {
            this.parts.states.record(row.action.targetSeq, stored.seq, (s) => row.action!.change(s, now));
            // Search finds a message by its text as it is now: an edit's, and after a delete, nothing
            // (one not taken for search yet is taken as it is then: search.ts).
            if (row.row.content_type === "edit") this.parts.search.edited(row.action.targetSeq, row.row.content);
            if (row.action.erases) {
              this.parts.search.remove(row.action.targetSeq);
              this.store.scrub(row.action.targetSeq);
              this.parts.fanout.forgetEncoded();
              erasing = this.parts.erasure.note(row.action.targetSeq, row.action.erases.media_id) || erasing;
            }
          }
        }
        return { ok: true, ack: this.store.ack(m.client_msg_id, stored) };
      });
      this.store.saveHead(this.parts.fanout.confirmedUpTo);
      this.store.flushCursors(); // cursor moves written behind ride along in this commit

      return results;
    });
    count(this.env, "messages_stored", this.store.lastSeq - before);
    this.conversation.appended();
    if (erasing) this.conversation.erasing();
    return outcomes;
  }

  /** The row a send, forward or action stores, or why it is refused. */
  private rowOf(
    senderId: string,
    m: Outgoing,
    prepared: Prepared,
    now: number,
  ): ProtocolError | { row: NewRow; action?: CheckedAction } {
    const { states } = this.parts;
    if (m.forward_of !== undefined) {
      const original = prepared.forwards.get(m.client_msg_id);
      if (!original) return { code: ErrorCode.internal, message: "forward was not prepared" };
      if ("code" in original) return original;
      const onlyAdmins = sendRefusal(this.store, senderId);
      if (onlyAdmins) return onlyAdmins;
      return { row: original };
    }
    if (m.target_id !== undefined) {
      const checked = checkAction(this.store, states, prepared.archived, senderId, m as Outgoing & { content_type: ActionType; target_id: string }, now);
      if ("code" in checked) return checked;
      return { row: checked.row, action: checked };
    }
    const attached = prepared.media.get(m.client_msg_id);
    if (attached && !isMediaRef(attached)) return attached;
    const onlyAdmins = sendRefusal(this.store, senderId);
    if (onlyAdmins) return onlyAdmins;
    const relations = messageRelations(this.store, states, prepared.archived, senderId, m);
    if ("code" in relations) return relations;
    return { row: { content: m.content, content_type: m.content_type as NewRow["content_type"], media: attached ?? null, ...relations } };
  }
}

function mediaOf(forwarded: ForwardedContent | ProtocolError | undefined): MediaRef | undefined {
  return forwarded && !("code" in forwarded) && forwarded.media ? forwarded.media : undefined;
}
