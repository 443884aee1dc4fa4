/**
 * Parley's wire protocol, defined once. The server, the SDK and the web client all import it;
 * nothing here touches a runtime API, so it runs in workerd, Node and browsers alike.
 */
export const PROTOCOL_VERSION = 1;
export * from "./errors";
export * from "./limits";
export * from "./models";
export * from "./frames";
export * from "./rest";
export * from "./endpoints";
export * from "./media";
export * from "./push";
export * from "./admin";
export * from "./frameSchema";
export * from "./memberHistory";
