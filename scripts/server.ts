/**
 * `npm start`: the whole of Parley on one machine, lean. The same bundle `wrangler deploy` uploads,
 * with wrangler.toml's bindings, assets, queues and R2, persisted on disk, served by one workerd
 * process through Miniflare's API. Unlike `wrangler dev` (still `npm run dev`, for hot reload) there
 * is no proxy process relaying every frame, no extra commit at every object wake, and the listening
 * socket goes straight into the Worker (its `LocalEntry`), so the Worker's compatibility flags
 * decide what a client socket negotiates.
 *
 *   node scripts/server.ts [--port 8787] [--ip 127.0.0.1] [--persist-to .parley-state] [--var NAME:VALUE]…
 *                          [--prepare] [--ws-compression] [--inspector-port N]
 *
 * A warm start (nothing changed since the last one) reuses the built web client, the bundle and the
 * resolved configuration from .parley-build/, and is ready in about a second.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { ensureDevVars } from "./dev-setup.ts";

const started = performance.now();
const root = resolve(import.meta.dirname, "..");
const buildDir = join(root, ".parley-build");

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string", default: join(root, ".parley-state") },
    var: { type: "string", multiple: true, default: [] },
    /** Build what is stale (web client, bundle, configuration) and exit: `npm test` does this first. */
    prepare: { type: "boolean", default: false },
    /** Let client sockets negotiate permessage-deflate, as on Cloudflare (the benchmark compares both). */
    "ws-compression": { type: "boolean", default: false },
    /** Open the runtime's V8 inspector on this loopback port (devtools, the benchmark's CPU profiles). */
    "inspector-port": { type: "string" },
  },
});

/**
 * What `npm start` sets that a deployment does not (besides .dev.vars, see dev-setup.ts): a local
 * client socket is never compressed. permessage-deflate costs a zlib context per socket, several times a
 * socket's memory, to save bytes on loopback (docs/performance.md has the measurements).
 */
const LOCAL_COMPATIBILITY_FLAGS = ["no_web_socket_compression"];

/** A digest of the files under `paths` (names, sizes, modification times): what a build depends on. */
function fingerprint(paths: string[], extra = ""): string {
  const hash = createHash("sha256").update(extra);
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== "node_modules" && name !== "dist") visit(join(path, name));
    } else {
      hash.update(`${relative(root, path)}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  for (const p of paths) visit(join(root, p));
  return hash.digest("hex");
}

/** Runs `build` unless the stamp file says it already ran for this fingerprint and `output` is there. */
function cached(stamp: string, key: string, output: string, what: string, build: () => void) {
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === key && existsSync(output)) return;
  const t0 = performance.now();
  build();
  writeFileSync(stamp, key);
  console.log(`parley: ${what} (${Math.round(performance.now() - t0)} ms)`);
}

function run(command: string, argv: string[]) {
  const result = spawnSync(join(root, "node_modules/.bin", command), argv, { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn" } });
  if (result.status !== 0) throw new Error(`${command} ${argv.join(" ")} failed (${result.status ?? result.signal})`);
}

ensureDevVars();
mkdirSync(buildDir, { recursive: true });
const lock = readFileSync(join(root, "package-lock.json"), "utf8");

// The web client (web/, built only on the SDK and the protocol).
cached(join(buildDir, "web.stamp"), fingerprint(["web", "src/client", "src/protocol"], lock), join(root, "web/dist/index.html"), "built the web client", () =>
  run("vite", ["build", "web", "--logLevel", "warn"]),
);

// The Worker, bundled exactly as `wrangler deploy` would upload it.
const bundleDir = join(buildDir, "worker");
cached(join(buildDir, "worker.stamp"), fingerprint(["src", "wrangler.toml"], lock), join(bundleDir, "worker.js"), "bundled the Worker", () =>
  run("wrangler", ["deploy", "--dry-run", "--outdir", bundleDir]),
);

// wrangler.toml as Miniflare options. Resolving it means loading wrangler (about a second), so the
// result is kept; the variables from .dev.vars are read fresh every time and never written here.
const devVars = parseEnv(readFileSync(join(root, ".dev.vars"), "utf8")) as Record<string, string>;
const optionsFile = join(buildDir, "options.json");
const optionsKey = fingerprint(["wrangler.toml"], lock);
let workerOptions: Record<string, unknown> & { bindings?: Record<string, unknown>; compatibilityFlags?: string[] };
const saved = existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, "utf8")) as { key: string; workerOptions: typeof workerOptions }) : null;
if (saved?.key === optionsKey) {
  workerOptions = saved.workerOptions;
} else {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  workerOptions = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml")).workerOptions as typeof workerOptions;
  const bindings = Object.fromEntries(Object.entries(workerOptions.bindings ?? {}).filter(([name]) => !(name in devVars)));
  writeFileSync(optionsFile, JSON.stringify({ key: optionsKey, workerOptions: { ...workerOptions, bindings } }));
}

if (args.prepare) process.exit(0);

const cliVars = Object.fromEntries(
  (args.var ?? []).map((v) => {
    const at = v.indexOf(":");
    if (at < 1) throw new Error(`--var takes NAME:VALUE, got "${v}"`);
    return [v.slice(0, at), v.slice(at + 1)];
  }),
);
const bindings = { ...workerOptions.bindings, ...devVars, ...cliVars } as Record<string, unknown>;

const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = await import("miniflare");
const port = Number(args.port);
const persistTo = resolve(args["persist-to"]!);
// The entry module first (the runtime takes the first as the main module), then what it imports.
const modules = [
  { type: "ESModule", path: join(bundleDir, "worker.js") },
  ...readdirSync(bundleDir)
    .filter((f) => f.endsWith(".wasm"))
    .map((f) => ({ type: "CompiledWasm", path: join(bundleDir, f) })),
];
const options = (directSockets: boolean) =>
  convertV4MiniflareOptions({
    // Miniflare's own entry socket is not used: clients reach the Worker on the direct socket below.
    host: "127.0.0.1",
    port: 0,
    ...(args["inspector-port"] ? { inspectorPort: Number(args["inspector-port"]), inspectorHost: "127.0.0.1" } : {}),
    // The layout `wrangler dev --persist-to` uses, so `npm run dev` sees the same state.
    resourcePersistencePath: join(persistTo, "v3"),
    log: new Log(LogLevel.WARN),
    // No request.cf fetched from Cloudflare: the machine may be offline, and nothing here reads it.
    cf: false,
    workers: [
      {
        ...workerOptions,
        name: "parley",
        modules,
        modulesRoot: bundleDir,
        bindings,
        compatibilityFlags: [...(workerOptions.compatibilityFlags ?? []), ...(args["ws-compression"] ? [] : LOCAL_COMPATIBILITY_FLAGS)],
        unsafeDirectSockets: directSockets ? [{ host: args.ip, port, entrypoint: "LocalEntry" }] : [],
      },
    ],
  } as Parameters<typeof convertV4MiniflareOptions>[0]);

/**
 * Users and conversations live in the objects USER_SHARDS and CONVERSATION_SHARDS say
 * (src/objects/homes.ts). The layout the state was written with is recorded beside it. When it
 * differs, or the state predates objects that hold many (one object per user or conversation), the
 * server starts without its socket, every object of that kind on disk hands what it should no longer
 * hold to its new home, and only then is it served.
 */
const KINDS = [
  { shards: "USER_SHARDS", key: "user_shards", binding: "USERS", dir: "parley-UserObject", noun: "user" },
  { shards: "CONVERSATION_SHARDS", key: "conversation_shards", binding: "CONVERSATIONS", dir: "parley-ConversationObject", noun: "conversation" },
] as const;
type Kind = (typeof KINDS)[number];
type Layout = Record<Kind["key"], string>;
const layout = Object.fromEntries(KINDS.map((k) => [k.key, String(bindings[k.shards] ?? "")])) as Layout;
const layoutFile = join(persistTo, "parley-layout.json");
const recorded: Partial<Layout> = existsSync(layoutFile) ? (JSON.parse(readFileSync(layoutFile, "utf8")) as Partial<Layout>) : {};
const objectsOf = (kind: Kind) => join(persistTo, "v3", "do", kind.dir);
// State written before a kind was sharded has no record of it: it was one object per user or conversation.
const moves = KINDS.filter((k) => existsSync(objectsOf(k)) && (recorded[k.key] ?? "") !== layout[k.key]);
const describe = (kind: Kind, shards: string) => (shards ? `${kind.shards}=${shards}` : `one object per ${kind.noun}`);
const mf = new Miniflare(options(moves.length === 0));
await mf.ready;
for (const kind of moves) {
  const t0 = performance.now();
  const ids = readdirSync(objectsOf(kind)).flatMap((f) => /^([0-9a-f]{64})\.sqlite$/.exec(f)?.[1] ?? []);
  const namespace = await mf.getDurableObjectNamespace(kind.binding);
  let moved = 0;
  for (const id of ids) moved += await (namespace.get(namespace.idFromString(id)) as unknown as { rehome(): Promise<number> }).rehome();
  const from = describe(kind, recorded[kind.key] ?? "");
  console.log(`parley: ${from} → ${describe(kind, layout[kind.key])}: moved ${moved} ${kind.noun}s out of ${ids.length} objects (${Math.round(performance.now() - t0)} ms)`);
}
if (moves.length > 0) await mf.setOptions(options(true));
writeFileSync(layoutFile, JSON.stringify(layout));

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
const state = relative(process.cwd(), persistTo).startsWith("..") ? persistTo : relative(process.cwd(), persistTo);
console.log(`parley: ready on http://${args.ip}:${port} in ${Math.round(performance.now() - started)} ms (${KINDS.map((k) => describe(k, layout[k.key])).join(", ")}; state in ${state})`);
