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

  it("counts into the Analytics Engine binding, one data point per count, and never fails the caller", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const recording = { ...env, METRICS: { writeDataPoint: (p: AnalyticsEngineDataPoint) => points.push(p) } } as unknown as typeof env;
    count(recording, "messages_stored", 3, "test");
    count(recording, "deliveries");
    count(recording, "errors", 0); // nothing to count: no data point
    expect(points).toEqual([
      { indexes: ["messages_stored"], blobs: ["messages_stored", "test"], doubles: [3] },
      { indexes: ["deliveries"], blobs: ["deliveries", ""], doubles: [1] },
    ]);
    // A failing binding or none: the caller goes on, and nothing is recorded.
    const broken = { ...env, METRICS: { writeDataPoint: () => { throw new Error("down"); } } } as unknown as typeof env;
    expect(() => count(broken, "errors")).not.toThrow();
    expect(() => count({ ...env, METRICS: undefined }, "errors")).not.toThrow();
    expect(points).toHaveLength(2);
  });
});
