import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { Miniflare, convertV4MiniflareOptions } from "../node_modules/wrangler/node_modules/miniflare/dist/src/index.js";
import { readFileSync } from "node:fs";
const port = Number(process.env.PORT ?? 8787);
const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml", undefined, {});
const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port,
  defaultPersistRoot: "/tmp/pstate",
  workers: [
    {
      ...workerOptions,
      name: "parley",
      bindings: { ...workerOptions.bindings, SEND_BURST: "1000000", SEND_PER_SECOND: "1000000" },
      modules: [
        { type: "ESModule", path: "/tmp/pb/worker.js" },
        { type: "CompiledWasm", path: "/tmp/pb/a53137fb0ae8aa1649a103b7fb379bc97522c937-photon_rs_bg.wasm" },
      ],
      modulesRoot: "/tmp/pb",
    },
  ],
}));
const url = await mf.ready;
console.log("ready on", url.href);
