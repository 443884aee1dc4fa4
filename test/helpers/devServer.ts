/**
 * A real Parley server for Node-side tests: scripts/server.ts, exactly what `npm start` runs, on a
 * free loopback port, with its state in a directory of the test's choosing (so a test can kill it
 * and start it again on the same state). Tests keep state on tmpfs where there is one: commits are
 * two to three times cheaper there (the benchmarks use disk, as `npm start` does).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
export const DEV_JWT_SECRET = "node-tests-secret-node-tests-secret-0123456789";

/** A VAPID key pair for the test server, as `npm start` makes one (scripts/dev-setup.ts). */
function vapidKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pub = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, "base64url"), Buffer.from(pub.y!, "base64url")]);
  return { publicKey: point.toString("base64url"), privateKey: privateKey.export({ format: "jwk" }).d! };
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

export class DevServer {
  private child: ChildProcess | null = null;
  private log: string[] = [];
  port = 0;
  readonly vapid = vapidKeys();

  constructor(
    readonly stateDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "parley-state-")),
    /** Variables beyond the test defaults (e.g. USER_SHARDS), as `--var NAME:VALUE`. */
    readonly vars: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port?: number): Promise<void> {
    this.port = port ?? (this.port || (await freePort()));
    this.log = [];
    const vars = {
      JWT_SECRET: DEV_JWT_SECRET,
      ENVIRONMENT: "development",
      VAPID_PUBLIC_KEY: this.vapid.publicKey,
      VAPID_PRIVATE_KEY: this.vapid.privateKey,
      VAPID_SUBJECT: "mailto:tests@parley.invalid",
      // Tests seed conversations quickly from one user; the real send limit is tested in test/limits.
      SEND_BURST: "100000",
      SEND_PER_SECOND: "100000",
      GROUP_CHANGE_BURST: "100000",
      GROUP_CHANGES_PER_SECOND: "100000",
      HISTORY_BURST: "100000",
      HISTORY_PER_SECOND: "100000",
      UPLOAD_BURST: "100000",
      UPLOADS_PER_SECOND: "100000",
      ...this.vars,
    };
    const child = spawn(
      process.execPath,
      [join(root, "scripts/server.ts"), `--port=${this.port}`, `--persist-to=${this.stateDir}`, ...Object.entries(vars).map(([k, v]) => `--var=${k}:${v}`)],
      { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    const remember = (chunk: Buffer) => {
      this.log.push(chunk.toString());
      if (this.log.length > 200) this.log.shift();
    };
    child.stdout!.on("data", remember);
    child.stderr!.on("data", remember);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${this.output()}`);
      try {
        const res = await fetch(`${this.url}/api/v1/users/me`);
        if (res.status === 401) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the server did not come up within 60 s:\n${this.output()}`);
  }

  /** Stops the server: SIGTERM for a clean stop, SIGKILL for a crash. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
    // Miniflare runs workerd as its own child: signal the whole process group, as a crash would take it all.
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        /* already gone */
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  output(): string {
    return this.log.join("").slice(-4000);
  }
}
