import { Endpoints, type EndpointInput, type EndpointName, type EndpointOutput } from "../protocol/endpoints";
import { ErrorBody } from "../protocol/rest";

/** An HTTP error answered by the server (`{"error":{"code","message"}}`), or a transport failure. */
export class ParleyApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ParleyApiError";
  }
}

type CallArgs<N extends EndpointName> = {} extends EndpointInput<N> ? [input?: EndpointInput<N>] : [input: EndpointInput<N>];

/**
 * The REST client, generated from the endpoint table in `src/protocol/endpoints.ts`: inputs are typed
 * by the same zod schemas the server validates with, and every answer is parsed with its schema on
 * arrival, so a client never works with a shape it did not expect.
 */
export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: () => string | null = () => null,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  async call<N extends EndpointName>(name: N, ...[input]: CallArgs<N>): Promise<EndpointOutput<N>> {
    const endpoint = Endpoints[name];
    const args = (input ?? {}) as Record<string, unknown> & { body?: unknown; query?: Record<string, unknown> };
    const path = endpoint.path.replace(/:([a-z_]+)/g, (_, param: string) => {
      const value = args[param];
      if (typeof value !== "string" || value === "") throw new ParleyApiError(0, "bad_request", `${name}: missing ${param}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(args.query ?? {})) {
      if (value !== undefined && value !== null) query.set(key, String(value));
    }
    const headers: Record<string, string> = {};
    if (endpoint.auth) {
      const token = this.token();
      if (!token) throw new ParleyApiError(401, "unauthorized", "not logged in");
      headers.Authorization = `Bearer ${token}`;
    }
    let body: string | undefined;
    if ("body" in endpoint) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(args.body);
    }
    const url = `${this.baseUrl.replace(/\/$/, "")}/api/v1${path}${query.size ? `?${query}` : ""}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method: endpoint.method, headers, body });
    } catch (err) {
      throw new ParleyApiError(0, "network_error", `could not reach the server: ${(err as Error).message}`);
    }
    const json: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const parsed = ErrorBody.safeParse(json);
      if (parsed.success) throw new ParleyApiError(res.status, parsed.data.error.code, parsed.data.error.message);
      throw new ParleyApiError(res.status, "http_error", `${endpoint.method} ${path} answered ${res.status}`);
    }
    const parsed = endpoint.response.safeParse(json);
    if (!parsed.success) throw new ParleyApiError(res.status, "bad_response", `${name}: unexpected answer from the server`);
    return parsed.data as EndpointOutput<N>;
  }
}
