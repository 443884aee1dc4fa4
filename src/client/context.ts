import type { User } from "../protocol/models";
import type { Connection } from "./connection";
import type { Emit } from "./events";
import type { RestClient } from "./rest";

/** What the client's parts share: who is signed in, the REST client, the device socket and the client's events. */
export interface ClientContext {
  readonly user: User;
  readonly rest: RestClient;
  /** The device socket (the one connection every conversation's frames arrive on): only sending goes through here. */
  readonly socket: Pick<Connection, "send">;
  readonly emit: Emit;
}
