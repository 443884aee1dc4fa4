import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { count } from "../../src/lib/metrics";

describe("operations", () => {
  it("answers /healthz without a token", async () => {
    const res = await exports.default.fetch("http://parley.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", protocol: 1 });
  });

  it("tags every answer with a request id and the usual security headers", async () => {
    const res = await exports.default.fetch("http://parley.test/api/v1/users/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const other = await exports.default.fetch("http://parley.test/api/v1/users/me");
    expect(other.headers.get("X-Request-Id")).not.toBe(res.headers.get("X-Request-Id"));
  });

  it("counts without ever failing the caller, with or without the Analytics Engine binding", () => {
    expect(() => count(env, "messages_stored", 3, "test")).not.toThrow();
    const broken = { ...env, METRICS: { writeDataPoint: () => { throw new Error("down"); } } } as unknown as typeof env;
    expect(() => count(broken, "errors")).not.toThrow();
    expect(() => count({ ...env, METRICS: undefined }, "errors")).not.toThrow();
  });
});
