import { describe, expect, it } from "vitest";
import { apiDocument, toOpenApiPath } from "../../src/openapi/document";
import { app } from "../../src/worker";

/**
 * The API reference lists exactly the routes the Worker serves: a route added without its
 * description, or a description left behind by a route that moved, fails here.
 */
describe("the OpenAPI document", () => {
  const document = apiDocument();

  it("describes every route the app serves, and no other", () => {
    // Middleware (`use`) is registered as method ALL on a wildcard path; an `all()` route would still show up.
    const served = new Set(app.routes.filter((r) => !(r.method === "ALL" && r.path.endsWith("*"))).map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    const described = new Set(Object.entries(document.paths ?? {}).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)));
    expect(served.size).toBeGreaterThan(40);
    expect([...served].filter((r) => !described.has(r)).sort(), "served but not in the document").toEqual([]);
    expect([...described].filter((r) => !served.has(r)).sort(), "in the document but not served").toEqual([]);
  });

  it("gives every operation an id, a summary, a success answer and the error shape for each refusal", () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, { operationId?: string; summary?: string; responses: Record<string, any> }>)) {
        const what = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, what).toBeTruthy();
        expect(ids.has(op.operationId!), `${what}: operationId ${op.operationId} twice`).toBe(false);
        ids.add(op.operationId!);
        expect(op.summary, what).toBeTruthy();
        const statuses = Object.keys(op.responses).map(Number);
        expect(statuses.some((s) => s < 400), `${what}: no success answer`).toBe(true);
        expect(statuses, `${what}: every route can fail inside`).toContain(500);
        for (const status of statuses.filter((s) => s >= 400)) {
          const schema = op.responses[status].content["application/json"].schema;
          expect(schema.properties.error.properties.code.enum.length, `${what} ${status}`).toBeGreaterThan(0);
          expect(schema.properties.error.required, `${what} ${status}`).toEqual(["code", "message"]);
        }
      }
    }
  });
});
