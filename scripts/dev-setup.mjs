// Run by `npm start`: gives a fresh checkout a development signing secret so it works out of the
// box. Production secrets are never written here: see docs/deploy.md (`wrangler secret put`).
import { existsSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const file = new URL("../.dev.vars", import.meta.url);
if (!existsSync(file)) {
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `ENVIRONMENT=development\nJWT_SECRET=${secret}\n`, { mode: 0o600 });
  console.log("parley: wrote .dev.vars with a development JWT_SECRET");
}
