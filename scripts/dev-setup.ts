/**
 * Gives a fresh checkout what a deployment gets from `wrangler secret put` and its configuration,
 * so `npm start` and `npm run dev` work out of the box: a development signing secret, a VAPID key
 * pair for Web Push, and how many objects hold the users and conversations, kept in .dev.vars
 * beside the local state.
 * Production secrets are never written here: see docs/deploy.md.
 *
 * Run by scripts/server.ts; `node scripts/dev-setup.ts` runs it alone (before `wrangler dev`).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../.dev.vars", import.meta.url));

/**
 * How many objects hold the users, and the conversations, on one machine (src/objects/homes.ts).
 * Every object runs on the runtime's one thread here, so what counts is how many calls and commits a
 * message costs: the fewer objects, the fewer (docs/performance.md has the measurements).
 */
export const LOCAL_SHARDS = { USER_SHARDS: "1", CONVERSATION_SHARDS: "1" };

export function ensureDevVars(): void {
  if (!existsSync(file)) {
    const secret = randomBytes(32).toString("base64url");
    writeFileSync(file, `ENVIRONMENT=development\nJWT_SECRET=${secret}\n`, { mode: 0o600 });
    console.log("parley: wrote .dev.vars with a development JWT_SECRET");
  }
  // Added to an existing .dev.vars too, so an older checkout gains push without losing its sessions.
  if (!/^VAPID_PRIVATE_KEY=/m.test(readFileSync(file, "utf8"))) {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pub = publicKey.export({ format: "jwk" });
    const priv = privateKey.export({ format: "jwk" });
    // The public key as push services and browsers want it: the uncompressed point 0x04 || x || y.
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, "base64url"), Buffer.from(pub.y!, "base64url")]);
    appendFileSync(file, `VAPID_PUBLIC_KEY=${point.toString("base64url")}\nVAPID_PRIVATE_KEY=${priv.d}\nVAPID_SUBJECT=mailto:dev@localhost.invalid\n`);
    console.log("parley: added a development VAPID key pair to .dev.vars");
  }
  for (const [name, value] of Object.entries(LOCAL_SHARDS)) {
    if (!new RegExp(`^${name}=`, "m").test(readFileSync(file, "utf8"))) appendFileSync(file, `${name}=${value}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDevVars();
