/**
 * The Parley client SDK: built only on `src/protocol`, it runs in browsers, Node 22 and workerd.
 * See docs/sdk.md.
 */
export { ParleyClient, type ParleyClientOptions } from "./client";
export { isWithheld, type ChatEntry, type MessageState } from "./entries";
export type { ParleyClientEvents, SendError } from "./events";
export type { MediaOptions, UploadInProgress } from "./media";
export { backoffDelay, type ConnectionState, type SocketFactory, type SocketLike } from "./connection";
export { isPendingAction, MemoryOutbox, type OutboxEntry, type OutboxStore, type PendingAction, type PendingMessage } from "./outbox";
export { MemoryStorage, type KeyValueStorage } from "./storage";
export { DEFAULT_REACTIONS } from "./recent-emojis";
export { ParleyApiError, RestClient } from "./rest";
export { ConversationTimeline } from "./timeline";
export * from "../protocol";
