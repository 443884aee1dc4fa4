// Run by `npm start`: gives a fresh checkout what a deployment gets from `wrangler secret put`, so it
// works out of the box: a development signing secret and a VAPID key pair for Web Push, kept in
// .dev.vars beside the local state. Production secrets are never written here: see docs/deploy.md.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const file = new URL("../.dev.vars", import.meta.url);
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
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x, "base64url"), Buffer.from(pub.y, "base64url")]);
  appendFileSync(
    file,
    `VAPID_PUBLIC_KEY=${point.toString("base64url")}\nVAPID_PRIVATE_KEY=${priv.d}\nVAPID_SUBJECT=mailto:dev@localhost.invalid\n`,
  );
  console.log("parley: added a development VAPID key pair to .dev.vars");
}

// Local workerd runs every object on one thread: a 500-member round issued at once would queue the
// next send (and its live push) behind all 500 calls. Cloudflare runs them in parallel; see fanout.ts.
if (!/^FANOUT_CONCURRENCY=/m.test(readFileSync(file, "utf8"))) {
  appendFileSync(file, "FANOUT_CONCURRENCY=16\n");
}
