/** The part of `@xmpp/client` (which ships no types) that the peer bench uses. */
declare module "@xmpp/client" {
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    toString(): string;
  }

  export interface XmppClient {
    status: string;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    on(event: "stanza", handler: (stanza: Element) => void): void;
    on(event: "error" | "offline" | "online", handler: (arg: unknown) => void): void;
    reconnect: { stop(): void };
    socket: { destroy(): void } | null;
    iqCaller: { request(stanza: Element, timeoutMs?: number): Promise<Element> };
  }

  export function client(options: {
    service: string;
    domain: string;
    username?: string;
    password?: string;
    resource?: string;
    timeout?: number;
  }): XmppClient;

  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string)[]): Element;
}
