import { seqOfServerMsgId } from "../../lib/ids";
import type { Message } from "../../protocol";
import type { HistoryArchive } from "./archive";
import type { ConversationStore } from "./store";
import type { WithheldRanges } from "./withheld";

/**
 * Messages of one conversation by id, hot or archived, as a member sees them: what a user's marks
 * (star, delete for me) check first, and what their starred list shows. Each id answers its message,
 * or null when it names none of this conversation's (unknown, forged) or one from before the member
 * joined. The caller has checked that the reader is a member.
 */
export function messagesAt(store: ConversationStore, archive: HistoryArchive, withheld: WithheldRanges, readerId: string, ids: string[]): Promise<(Message | null)[]> {
  const floor = store.member(readerId)?.joined_seq ?? Number.MAX_SAFE_INTEGER;
  return Promise.all(
    ids.map(async (id) => {
      const seq = seqOfServerMsgId(id);
      if (seq === null || seq <= floor || seq > store.lastSeq) return null;
      const [m] = await archive.messagesAfter(seq - 1, 1);
      if (!m || m.seq !== seq || m.server_msg_id !== id) return null;
      return withheld.view(m, readerId);
    }),
  );
}
