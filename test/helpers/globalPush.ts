import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pushPort: number;
  }
}

interface Recorded {
  at: number;
  method: string;
  headers: Record<string, string>;
  body: string; // base64
}

/**
 * A local push service for the push tests, on loopback: `POST /push/<id>?status=N&delay=MS` records
 * the request on arrival and answers N (default 201) after MS milliseconds (default 0), as FCM or
 * Mozilla's autopush would; `GET /recorded/<id>`
 * returns what arrived, so a test can decrypt it with its own keys.
 */
export default async function setup(project: TestProject) {
  const recorded = new Map<string, Recorded[]>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const [, kind, id] = url.pathname.split("/");
    if (req.method === "GET" && kind === "recorded" && id) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(recorded.get(id) ?? []));
      return;
    }
    if (req.method !== "POST" || kind !== "push" || !id) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const list = recorded.get(id) ?? [];
      list.push({ at: Date.now(), method: req.method!, headers, body: Buffer.concat(chunks).toString("base64") });
      recorded.set(id, list);
      const answer = () => res.writeHead(Number(url.searchParams.get("status") ?? 201)).end();
      setTimeout(answer, Math.min(10_000, Number(url.searchParams.get("delay") ?? 0)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("pushPort", (server.address() as { port: number }).port);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
