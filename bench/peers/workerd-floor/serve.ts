/**
 * Serves worker.js the way `npm start` serves Parley (scripts/server.ts): Miniflare's API (the
 * version wrangler uses), one workerd process, the listening socket straight into the Worker's
 * `Entry` (no Miniflare entry worker), `no_web_socket_compression`, SQLite Durable Objects persisted
 * on disk, no request.cf.
 *
 * Run as its own process (Node 22 strips the types): `node bench/peers/workerd-floor/serve.ts PORT STATE_DIR`.
 */
import { join } from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";

const [port, state] = [Number(process.argv[2]), process.argv[3]!];
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: state,
    log: new Log(LogLevel.WARN),
    cf: false,
    workers: [
      {
        name: "workerd-floor",
        modules: [{ type: "ESModule", path: join(import.meta.dirname, "worker.js") }],
        modulesRoot: import.meta.dirname,
        compatibilityDate: "2026-11-01",
        compatibilityFlags: ["no_web_socket_compression"],
        durableObjects: { ROOMS: { className: "Room", useSQLite: true } },
        unsafeDirectSockets: [{ host: "127.0.0.1", port, entrypoint: "Entry" }],
      },
    ],
  } as Parameters<typeof convertV4MiniflareOptions>[0]),
);
await mf.ready;
console.log(`workerd-floor: ready on 127.0.0.1:${port}`);

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
