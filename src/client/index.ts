/**
 * The Parley client SDK: built only on `src/protocol`, it runs in browsers, Node 22 and workerd.
 * See docs/sdk.md.
 */
export { isWithheld, ParleyClient, type ChatEntry, type MessageState, type ParleyClientEvents, type ParleyClientOptions, type UploadInProgress } from "./client";
export { backoffDelay, type ConnectionState, type SocketFactory, type SocketLike } from "./connection";
export { MemoryOutbox, type OutboxStore, type PendingMessage } from "./outbox";
export { ParleyApiError, RestClient } from "./rest";
export { ConversationTimeline } from "./timeline";
export * from "../protocol";
