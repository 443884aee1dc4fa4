import { ErrorCode } from "../protocol/errors";
import type { Invitation } from "../protocol/models";
import type { ClientContext } from "./context";
import type { ConversationList } from "./conversation-list";
import { ParleyApiError } from "./rest";

/** Invitations to groups waiting for this user's answer: fetched once, then kept by `invitation` frames. */
export class Invitations {
  private readonly pending = new Map<string, Invitation>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly list: ConversationList,
  ) {}

  /** Newest first; expired ones are left out. */
  all(): Invitation[] {
    const now = Date.now();
    return [...this.pending.values()].filter((i) => i.expires_at > now).sort((a, b) => b.created_at - a.created_at);
  }

  async refresh(): Promise<Invitation[]> {
    const { invitations } = await this.ctx.rest.call("invitations");
    this.pending.clear();
    for (const i of invitations) this.pending.set(i.conversation_id, i);
    this.changed();
    return this.all();
  }

  /** An `invitation` frame. */
  received(invitation: Invitation): void {
    this.pending.set(invitation.conversation_id, invitation);
    this.ctx.emit("invitation", invitation);
    this.changed();
  }

  /** Joins the group; it then shows in the conversation list. */
  async accept(conversationId: string): Promise<void> {
    try {
      await this.ctx.rest.call("acceptInvitation", { conversation_id: conversationId });
    } finally {
      this.pending.delete(conversationId);
      this.changed();
    }
    if (this.list.loaded) await this.list.refresh();
  }

  async decline(conversationId: string): Promise<void> {
    this.pending.delete(conversationId);
    this.changed();
    await this.ctx.rest.call("declineInvitation", { conversation_id: conversationId }).catch((err: unknown) => {
      // Already gone (expired, or answered on another device): nothing left to decline.
      if (!(err instanceof ParleyApiError && err.code === ErrorCode.invitationNotFound)) throw err;
    });
  }

  private changed(): void {
    this.ctx.emit("invitations", this.all());
  }
}
