/**
 * Moves users and conversations of a Cloudflare deployment to the homes a new USER_SHARDS or
 * CONVERSATION_SHARDS names (docs/deploy.md, "Changing USER_SHARDS or CONVERSATION_SHARDS"). Locally
 * `npm start` does this by itself on start; on Cloudflare there are no files to list, so this script
 * lists the objects that hold data through the Cloudflare API and asks the deployment's admin route
 * to rehome them, 50 per request. Every move is safe to repeat: run it again after an interruption.
 *
 *   CLOUDFLARE_API_TOKEN=… CLOUDFLARE_ACCOUNT_ID=… ADMIN_SECRET=… \
 *     node scripts/rehome.ts --url https://parley.example.workers.dev [--kind users|conversations]…
 *                            [--script parley] [--ids-file ids.txt --kind users]
 *
 * With --ids-file (one object id per line) the Cloudflare API is not asked: for lists made another way.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { RehomeBody, RehomeResponse } from "../src/protocol/admin.ts";

type Kind = RehomeBody["kind"];
const CLASS_OF: Record<Kind, string> = { users: "UserObject", conversations: "ConversationObject" };
const PER_REQUEST = 50;
const IN_FLIGHT = 4;

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    kind: { type: "string", multiple: true, default: ["users", "conversations"] },
    script: { type: "string", default: "parley" },
    "ids-file": { type: "string" },
  },
});

function need(value: string | undefined, what: string): string {
  if (!value) {
    console.error(`rehome: ${what} is required (see the comment at the top of scripts/rehome.ts)`);
    process.exit(2);
  }
  return value;
}

const url = need(args.url, "--url").replace(/\/$/, "");
const adminSecret = need(process.env.ADMIN_SECRET, "ADMIN_SECRET");
const kinds = args.kind.map((k) => RehomeBody.shape.kind.parse(k));

/** The Cloudflare API, paged by cursor. */
async function cloudflare<T>(path: string): Promise<{ result: T; result_info?: { cursor?: string } }> {
  const token = need(process.env.CLOUDFLARE_API_TOKEN, "CLOUDFLARE_API_TOKEN");
  const res = await fetch(`https://api.cloudflare.com/client/v4${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { success: boolean; errors?: unknown; result: T; result_info?: { cursor?: string } };
  if (!res.ok || !body.success) throw new Error(`Cloudflare API ${path}: ${res.status} ${JSON.stringify(body.errors)}`);
  return body;
}

/** Every object of the class that has stored data (an object without any holds nobody). */
async function* storedObjects(kind: Kind): AsyncGenerator<string> {
  const account = need(process.env.CLOUDFLARE_ACCOUNT_ID, "CLOUDFLARE_ACCOUNT_ID");
  const namespaces = await cloudflare<{ id: string; class: string; script: string }[]>(`/accounts/${account}/workers/durable_objects/namespaces?per_page=1000`);
  const namespace = namespaces.result.find((n) => n.class === CLASS_OF[kind] && n.script === args.script);
  if (!namespace) throw new Error(`no ${CLASS_OF[kind]} namespace of the script "${args.script}"`);
  let cursor: string | undefined;
  do {
    const page = await cloudflare<{ id: string; hasStoredData: boolean }[]>(
      `/accounts/${account}/workers/durable_objects/namespaces/${namespace.id}/objects?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    for (const o of page.result) if (o.hasStoredData) yield o.id;
    cursor = page.result_info?.cursor || undefined;
  } while (cursor);
}

async function* fromFile(path: string): AsyncGenerator<string> {
  for (const line of readFileSync(path, "utf8").split("\n")) if (line.trim()) yield line.trim();
}

async function rehome(kind: Kind, objectIds: string[]): Promise<number> {
  const body = RehomeBody.parse({ kind, object_ids: objectIds });
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${url}/api/v1/admin/rehome`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminSecret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.ok) return RehomeResponse.parse(await res.json()).moved.reduce((n, m) => n + m.moved, 0);
    // A failed request may have moved some: moving again is harmless.
    if (attempt === 5 || res.status < 500) throw new Error(`rehome ${kind}: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 1_000 * 2 ** attempt));
  }
}

for (const kind of kinds) {
  const started = performance.now();
  const source = args["ids-file"] ? fromFile(args["ids-file"]) : storedObjects(kind);
  let objects = 0;
  let moved = 0;
  const running = new Set<Promise<void>>();
  let chunk: string[] = [];
  const flush = async () => {
    const ids = chunk;
    chunk = [];
    const call = rehome(kind, ids).then((n) => {
      moved += n;
      running.delete(call);
    });
    running.add(call);
    if (running.size >= IN_FLIGHT) await Promise.race(running);
  };
  for await (const id of source) {
    objects++;
    chunk.push(id);
    if (chunk.length === PER_REQUEST) await flush();
  }
  if (chunk.length > 0) await flush();
  await Promise.all(running);
  console.log(`rehome: ${kind}: ${objects} objects asked, ${moved} moved (${Math.round((performance.now() - started) / 1000)} s)`);
}
