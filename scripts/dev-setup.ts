/**
 * Gives a fresh checkout what a deployment gets from `wrangler secret put` and its configuration,
 * so `npm start` and `npm run dev` work out of the box: a development signing secret, a VAPID key
 * pair for Web Push, and the local user-object layout, kept in .dev.vars beside the local state.
 * Production secrets are never written here: see docs/deploy.md.
 *
 * Run by scripts/server.ts; `node scripts/dev-setup.ts` runs it alone (before `wrangler dev`).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../.dev.vars", import.meta.url));

/**
 * How many user objects hold the users on one machine (src/objects/user/home.ts). Every object runs
 * on the runtime's one thread here, so what counts is how many a fan-out calls: few.
 */
export const LOCAL_USER_SHARDS = "4";

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
  if (!/^USER_SHARDS=/m.test(readFileSync(file, "utf8"))) {
    appendFileSync(file, `USER_SHARDS=${LOCAL_USER_SHARDS}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDevVars();
