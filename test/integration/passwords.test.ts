import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { base64url } from "../../src/lib/ids";
import { directoryStub } from "../../src/env";
import { api, uniqueName } from "../helpers/client";

const PASSWORD = "correct horse battery";

async function storedRecord(username: string) {
  return runInDurableObject(directoryStub(env, username), (_o, state) =>
    JSON.parse(state.storage.sql.exec<{ password: string }>("SELECT password FROM account").one().password),
  );
}

describe("password hashing", () => {
  it("stores new passwords at OWASP's 2023 PBKDF2 cost: 600,000 iterations, as 6 chained rounds of workerd's 100,000", async () => {
    const username = uniqueName("pw");
    expect((await api("POST", "/api/v1/auth/register", { body: { username, password: PASSWORD } })).status).toBe(201);
    const record = await storedRecord(username);
    expect({ algorithm: record.algorithm, iterations: record.iterations, rounds: record.rounds }).toEqual({
      algorithm: "pbkdf2-sha256",
      iterations: 100_000,
      rounds: 6,
    });
    expect((await api("POST", "/api/v1/auth/login", { body: { username, password: PASSWORD } })).status).toBe(200);
    expect((await api("POST", "/api/v1/auth/login", { body: { username, password: "wrong horse battery" } })).status).toBe(401);
  });

  it("upgrades a record written at the old cost (one round of 100,000) at the next login, and only with the right password", async () => {
    const username = uniqueName("old");
    await api("POST", "/api/v1/auth/register", { body: { username, password: PASSWORD } });
    // What the server stored before chaining: one PBKDF2 call of 100,000 iterations.
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(PASSWORD), "PBKDF2", false, ["deriveBits"]);
    const hash = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100_000 }, key, 256));
    const old = { algorithm: "pbkdf2-sha256", iterations: 100_000, salt: base64url(salt), hash: base64url(hash) };
    await runInDurableObject(directoryStub(env, username), (_o, state) => void state.storage.sql.exec("UPDATE account SET password = ?", JSON.stringify(old)));

    expect((await api("POST", "/api/v1/auth/login", { body: { username, password: "wrong horse battery" } })).status).toBe(401);
    expect(await storedRecord(username)).toEqual(old);
    expect((await api("POST", "/api/v1/auth/login", { body: { username, password: PASSWORD } })).status).toBe(200);
    const upgraded = await storedRecord(username);
    expect([upgraded.rounds, upgraded.salt === old.salt]).toEqual([6, false]);
    expect((await api("POST", "/api/v1/auth/login", { body: { username, password: PASSWORD } })).status).toBe(200);
  });
});
