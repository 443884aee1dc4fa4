import type { Env } from "../../env";
import type { DeliveryBatch, DeliveryReceipt } from "../delivery";
import { userHomeStub } from "../homes";

type Letter = { batch: DeliveryBatch; resolve: (r: DeliveryReceipt) => void; reject: (e: unknown) => void };

/**
 * Fan-out rounds on their way to user objects. The conversations an object holds (many, when
 * CONVERSATION_SHARDS is set) hand their rounds here; those for the same user object that are ready
 * in the same turn go as one call, not one per conversation. Each round still has its own answer:
 * one that fails there fails alone.
 */
export class DeliveryPost {
  private readonly waiting = new Map<string, Letter[]>();

  constructor(private readonly env: Env) {}

  deliver(home: string, batch: DeliveryBatch): Promise<DeliveryReceipt> {
    return new Promise((resolve, reject) => {
      let letters = this.waiting.get(home);
      if (!letters) {
        this.waiting.set(home, (letters = []));
        queueMicrotask(() => void this.send(home));
      }
      letters.push({ batch, resolve, reject });
    });
  }

  private async send(home: string): Promise<void> {
    const letters = this.waiting.get(home)!;
    this.waiting.delete(home);
    try {
      const answers = await userHomeStub(this.env, home).deliverMany(letters.map((l) => l.batch));
      letters.forEach((l, i) => {
        const answer = answers[i]!;
        if ("error" in answer) l.reject(new Error(answer.error));
        else l.resolve(answer);
      });
    } catch (err) {
      for (const l of letters) l.reject(err);
    }
  }
}
