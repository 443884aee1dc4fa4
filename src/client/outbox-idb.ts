import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { OutboxEntry, OutboxStore } from "./outbox";

interface OutboxDb extends DBSchema {
  outbox: { key: string; value: OutboxEntry };
}

/**
 * The browser outbox: IndexedDB, one database per user, so messages and actions made offline survive
 * a page reload or a closed tab and are sent when the app next connects.
 */
export class IndexedDbOutbox implements OutboxStore {
  private db: Promise<IDBPDatabase<OutboxDb>>;

  constructor(userId: string) {
    this.db = openDB<OutboxDb>(`parley-outbox-${userId}`, 1, {
      upgrade(db) {
        db.createObjectStore("outbox", { keyPath: "client_msg_id" });
      },
    });
  }

  async list(): Promise<OutboxEntry[]> {
    const all = await (await this.db).getAll("outbox");
    return all.sort((a, b) => a.created_at - b.created_at);
  }

  async put(entry: OutboxEntry): Promise<void> {
    await (await this.db).put("outbox", entry);
  }

  async remove(clientMsgId: string): Promise<void> {
    await (await this.db).delete("outbox", clientMsgId);
  }

  async close(): Promise<void> {
    (await this.db).close();
  }
}
