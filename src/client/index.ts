/**
 * The Parley client SDK: built only on `src/protocol`, it runs in browsers, Node 22 and workerd.
 * See docs/sdk.md.
 */
export { ParleyClient, type ParleyClientOptions } from "./client";
export { isWithheld, type ChatEntry, type MessageState } from "./entries";
export type { ParleyClientEvents, SendError } from "./events";
export type { UploadInProgress } from "./media";
export { backoffDelay, type ConnectionState, type SocketFactory, type SocketLike } from "./connection";
export { MemoryOutbox, type OutboxStore, type PendingMessage } from "./outbox";
export { ParleyApiError, RestClient } from "./rest";
export { ConversationTimeline } from "./timeline";
export * from "../protocol";
