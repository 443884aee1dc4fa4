import { exports } from "cloudflare:workers";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { expect } from "vitest";

interface DocumentedOperation {
  operationId: string;
  responses: Record<string, { content?: Record<string, unknown> }>;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, the text of any other body, or null when there is none. */
  body: any;
  /** The accepted socket of a 101. */
  webSocket: WebSocket | null;
}

const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

/**
 * Talks to the Worker in-process and checks every answer against the OpenAPI document: the status
 * must be one the operation lists, a JSON body must match that status's schema (draft 2020-12), a
 * byte answer must be of a listed media type, and an answer listed without a body must have none.
 * It records which operation answered which status, so a test can ask what was never exercised.
 */
export class DocumentedApi {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly routes: { method: string; template: string; pattern: RegExp; params: number; op: DocumentedOperation }[] = [];
  private readonly validators = new Map<string, ValidateFunction>();
  /** operationId → the statuses it was seen to answer. */
  readonly seen = new Map<string, Set<number>>();

  constructor(document: object) {
    const plain = JSON.parse(JSON.stringify(document)) as { paths: Record<string, Record<string, DocumentedOperation>> };
    addFormats(this.ajv);
    this.ajv.addSchema(plain, "openapi.json");
    for (const [template, item] of Object.entries(plain.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[a-z_]+\}/g, "[^/]+")}$`);
      for (const [method, op] of Object.entries(item)) {
        this.routes.push({ method: method.toUpperCase(), template, pattern, params: (template.match(/\{/g) ?? []).length, op });
      }
    }
    // A literal segment wins over a parameter (`/users/me` over `/users/{user_id}`), as in the router.
    this.routes.sort((a, b) => a.params - b.params);
  }

  get operationIds(): string[] {
    return this.routes.map((r) => r.op.operationId);
  }

  async fetch(
    method: string,
    pathOrUrl: string,
    opts: { token?: string; body?: unknown; rawBody?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const url = new URL(pathOrUrl, "http://parley.test");
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined = opts.rawBody;
    if (body === undefined && opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    const res = await exports.default.fetch(url.toString(), { method, headers, body });
    const route = this.routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    const what = `${method} ${url.pathname} → ${res.status}`;
    expect(route, `${what}: no operation in the document`).toBeDefined();
    const { op, template } = route!;
    const documented = op.responses[String(res.status)];
    let webSocket: WebSocket | null = null;
    if (res.status === 101) {
      webSocket = res.webSocket;
      webSocket?.accept();
    }
    const text = res.status === 101 ? "" : await res.text();
    expect(documented, `${what}: ${op.operationId} does not list ${res.status} (body ${text.slice(0, 300)})`).toBeDefined();
    const media = Object.keys(documented!.content ?? {});
    let parsed: unknown = text || null;
    if (media.includes("application/json")) {
      expect(res.headers.get("Content-Type"), what).toMatch(/^application\/json/);
      parsed = JSON.parse(text);
      const validate = this.validator(template, method, res.status);
      const valid = validate(parsed);
      expect(valid, `${what}: ${this.ajv.errorsText(validate.errors)} in ${text.slice(0, 500)}`).toBe(true);
    } else if (media.length > 0) {
      const type = res.headers.get("Content-Type")?.split(";")[0] ?? "";
      expect(media.includes("*/*") || media.includes(type), `${what}: ${type} is not one of ${media.join(", ")}`).toBe(true);
    } else {
      expect(text, `${what}: listed without a body`).toBe("");
    }
    if (!this.seen.has(op.operationId)) this.seen.set(op.operationId, new Set());
    this.seen.get(op.operationId)!.add(res.status);
    return { status: res.status, headers: res.headers, body: parsed, webSocket };
  }

  private validator(template: string, method: string, status: number): ValidateFunction {
    const key = `${method} ${template} ${status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const ref = `openapi.json#/${pointer("paths", template, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema")}`;
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(key, validate);
    }
    return validate;
  }
}
