import { describe, expect, it } from "vitest";
import { endpointAllowed } from "../../src/objects/user/push";

describe("push endpoint allow-list", () => {
  it("takes https on the browsers' push services only, and loopback http only in development and tests", () => {
    expect(endpointAllowed("https://fcm.googleapis.com/fcm/send/x", "production")).toBe(true);
    expect(endpointAllowed("https://db5p.notify.windows.com/w/?token=x", "production")).toBe(true);
    expect(endpointAllowed("https://notify.windows.com/x", "production")).toBe(false); // "*." needs a subdomain
    expect(endpointAllowed("https://example.com/x", "production")).toBe(false);
    expect(endpointAllowed("http://127.0.0.1:9/push", "production")).toBe(false);
    expect(endpointAllowed("http://127.0.0.1:9/push", "development")).toBe(true);
    expect(endpointAllowed("http://10.0.0.1/push", "development")).toBe(false);
  });

  it("PUSH_ENDPOINT_HOSTS replaces the list", () => {
    const hosts = "push.example.org, *.push.example.net";
    expect(endpointAllowed("https://push.example.org/x", "production", hosts)).toBe(true);
    expect(endpointAllowed("https://eu.push.example.net/x", "production", hosts)).toBe(true);
    expect(endpointAllowed("https://fcm.googleapis.com/x", "production", hosts)).toBe(false);
    expect(endpointAllowed("https://fcm.googleapis.com/x", "production", " ")).toBe(true); // blank: the default list
  });
});
