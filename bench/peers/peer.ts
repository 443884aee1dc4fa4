/**
 * What the peer scenarios need of a messaging system, so that one scenario drives Prosody, ejabberd
 * and the `ws` floor alike: accounts, a connected client, a 1:1 conversation and a group.
 */
import type { ServerProcess } from "./process";

/** Where a client sends: a user (XMPP chat to a bare JID, a room of two on the floor) or a group. */
export interface Conversation {
  readonly kind: "direct" | "group";
  readonly address: string;
}

export interface PeerClient {
  readonly user: string;
  /** Queues one message; resolves once it is written to the socket (none of the peers acks it). */
  send(conversation: Conversation, body: string): Promise<void>;
  /** Called with the body of every message this client receives (for a group, others' messages only). */
  onMessage(handler: (body: string) => void): void;
  /**
   * Called once for each message of this client's that the server acknowledges, in order; present
   * only where the server acks (the workerd floor, after its commit, as Parley does).
   */
  onAck?(handler: () => void): void;
  /** Resolves after a round trip to the server: everything sent before it has been read by the server. */
  roundTrip(): Promise<void>;
  /** Closes the session cleanly (the user goes offline). */
  close(): Promise<void>;
  /** Destroys the socket at once, for tearing down thousands of clients after a scenario. */
  drop(): void;
}

export interface ConnectOptions {
  /** Which of the user's devices (an XMPP resource; one more socket of the user on the floor). */
  device?: string;
  onMessage?: (body: string) => void;
}

export interface RunningPeer {
  readonly process: ServerProcess;
  /** Milliseconds from spawning the server to its first successful answer (see `Peer.start`). */
  readonly coldStartMs: number;
  /**
   * The processes weighed as the server (memory, CPU), where that is not its whole process group:
   * the workerd floor's runtime, not the Node process that started it (as Parley's runtime is weighed).
   */
  readonly serverPids?: number[];
  /** Creates accounts (real ones, with passwords, where the system has them). */
  register(users: string[]): Promise<void>;
  /**
   * A logged-in client (one device of `user`), available, receiving. `onMessage` is installed
   * before the session starts, so that nothing the server sends at login (stored messages) is missed.
   */
  connect(user: string, opts?: ConnectOptions): Promise<PeerClient>;
  /** A 1:1 conversation from `from` to `to` (both registered). */
  direct(from: PeerClient, to: string): Promise<Conversation>;
  /** A group with `owner` and `members` in it, each able to receive its messages. */
  group(owner: PeerClient, members: PeerClient[]): Promise<Conversation>;
  stop(): Promise<void>;
}

export interface Peer {
  readonly name: string;
  /** Null when it can run here, else how to install what is missing. */
  missing(): string | null;
  /** The scenarios (`PEER_SCENARIOS` names) it can run, when not all; its notes say why. */
  readonly runs?: readonly string[];
  /** The installed version, for the results file. */
  version(): string;
  /** What it stores and how durably, and what the bench changed in its defaults: written to the results. */
  readonly notes: string[];
  /**
   * Starts a fresh server (new temp dir, spare loopback port) and waits until it answers a real
   * request (an XMPP in-band registration; a room created on the floor).
   */
  start(): Promise<RunningPeer>;
}
