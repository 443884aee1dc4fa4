import { z } from "zod";
import { Endpoints, ErrorCode, FRAME_SCHEMA_PATH, HealthResponse, Limits, MediaResponse, RehomeBody, RehomeResponse, type Endpoint, type EndpointName } from "../protocol";

/**
 * Every route the Worker serves, as the API reference describes it: the SDK's endpoint table, and
 * the routes outside it (socket upgrades, media bytes, operator and service routes).
 * test/integration/openapi-routes.test.ts fails when the app serves a route that is not here, or
 * the reverse.
 */
export interface Operation {
  id: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The full path, with `:params`. */
  path: string;
  /**
   * `session`: a user's token (Authorization header). `socket`: a user's token in the header, in
   * `?token=` or as a `bearer.<token>` subprotocol. `admin`: the ADMIN_SECRET. `signed`: the URL's own
   * signature. `none`: anyone.
   */
  auth: "session" | "socket" | "admin" | "signed" | "none";
  query?: z.ZodType;
  /** A JSON body; or `bytes`, a body of raw bytes. */
  body?: z.ZodType | "bytes";
  /** A JSON answer; `bytes` of the media types named; `upgrade`, an accepted WebSocket (101). */
  response: z.ZodType | { bytes: string[] } | "upgrade";
  /** The success statuses, the usual one first. */
  status: readonly number[];
  /** Refusals besides the ones `refusalsOf` adds from the other fields. */
  errors: readonly ErrorCode[];
  /** Behind the maintenance switch (MAINTENANCE=1 answers 503): every API route but the operators'. */
  maintenance: boolean;
  tag: string;
  summary: string;
  description?: string;
}

const tagOfSegment: Record<string, string> = {
  auth: "Accounts",
  users: "Users",
  conversations: "Conversations",
  invitations: "Invitations",
  "invite-links": "Invitations",
  media: "Media",
  push: "Push",
};

function fromEndpoint(id: EndpointName, e: Endpoint): Operation {
  const segment = e.path.split("/")[1]!;
  return {
    id,
    method: e.method,
    path: `/api/v1${e.path}`,
    auth: e.auth ? "session" : "none",
    query: e.query,
    body: e.body,
    response: e.response,
    status: e.status ?? [200],
    errors: e.errors ?? [],
    maintenance: true,
    tag: tagOfSegment[segment] ?? segment,
    summary: e.summary,
    description: e.description,
  };
}

const signature = { expires: z.coerce.number().int().meta({ description: "When the URL lapses (ms since the epoch)" }), sig: z.string() };

/** The routes outside the SDK's table. */
const otherOperations: Operation[] = [
  {
    id: "deviceSocket",
    method: "GET",
    path: "/api/v1/ws",
    auth: "socket",
    query: z.object({
      device_id: z.string().regex(Limits.deviceIdPattern).meta({ description: "This install of the app: a reconnect with the same id replaces its socket" }),
    }),
    response: "upgrade",
    status: [101],
    errors: [ErrorCode.forbidden, ErrorCode.rateLimited],
    maintenance: true,
    tag: "Sockets",
    summary: "Open the device socket",
    description:
      "A WebSocket upgrade: messages, receipts, typing and presence for every conversation of the user (docs/protocol.md, \"The device socket\"). " +
      "Offer `parley.v2` as a subprotocol to get frames in batches. 403 `forbidden` for a browser page of another origin.",
  },
  {
    id: "liveSocket",
    method: "GET",
    path: "/api/v1/conversations/:conversation_id/ws",
    auth: "socket",
    response: "upgrade",
    status: [101],
    errors: [ErrorCode.conversationNotFound, ErrorCode.notAMember, ErrorCode.forbidden],
    maintenance: true,
    tag: "Sockets",
    summary: "Open a conversation's live socket",
    description: "A WebSocket upgrade straight to the conversation, for a member who has it open (docs/protocol.md, \"The live conversation socket\").",
  },
  {
    id: "mediaUploadBytes",
    method: "PUT",
    path: "/api/v1/media/:media_id/upload",
    auth: "signed",
    query: z.object(signature),
    body: "bytes",
    response: MediaResponse,
    status: [201],
    errors: [ErrorCode.mediaNotFound, ErrorCode.uploadUrlInvalid, ErrorCode.mediaMismatch, ErrorCode.storageUnavailable],
    maintenance: true,
    tag: "Media",
    summary: "Upload media bytes",
    description:
      "The `upload_url` from `POST /media/upload` when the deployment stores media in R2: the exact declared size, with the `headers` it gave (Content-Type). " +
      "No token: the URL authorizes itself. The media is ready once this answers.",
  },
  {
    id: "mediaBytes",
    method: "GET",
    path: "/api/v1/media/:media_id",
    auth: "session",
    response: { bytes: ["*/*"] },
    status: [200, 206, 304],
    errors: [ErrorCode.mediaNotFound, ErrorCode.storageUnavailable],
    maintenance: true,
    tag: "Media",
    summary: "Download media",
    description: "The bytes, for the uploader and for members who joined the conversation before it was sent there. Range requests are answered 206.",
  },
  {
    id: "mediaThumbnail",
    method: "GET",
    path: "/api/v1/media/:media_id/thumbnail",
    auth: "session",
    response: { bytes: ["image/jpeg"] },
    status: [200],
    errors: [ErrorCode.mediaNotFound, ErrorCode.storageUnavailable],
    maintenance: true,
    tag: "Media",
    summary: "An image's thumbnail",
    description: "404 `media_not_found` until it is made, moments after the upload: try again.",
  },
  {
    id: "mediaView",
    method: "GET",
    path: "/api/v1/media/:media_id/view",
    auth: "signed",
    query: z.object({ variant: z.enum(["content", "thumbnail"]).optional(), ...signature }),
    response: { bytes: ["*/*"] },
    status: [200, 206, 304],
    errors: [ErrorCode.mediaNotFound, ErrorCode.uploadUrlInvalid, ErrorCode.storageUnavailable],
    maintenance: true,
    tag: "Media",
    summary: "Media by a self-authorizing URL",
    description: "The `url` or `thumbnail_url` from `GET /media/{media_id}/url`, for <img> and <video>, which cannot send a token.",
  },
  {
    id: "rehome",
    method: "POST",
    path: "/api/v1/admin/rehome",
    auth: "admin",
    body: RehomeBody,
    response: RehomeResponse,
    status: [200],
    // Without ADMIN_SECRET set the operator routes do not exist.
    errors: [ErrorCode.notFound],
    maintenance: false,
    tag: "Operators",
    summary: "Move users or conversations to their homes",
    description: "After a change of USER_SHARDS or CONVERSATION_SHARDS (docs/deploy.md): each named object hands what it should no longer hold to its new home.",
  },
  {
    id: "health",
    method: "GET",
    path: "/healthz",
    auth: "none",
    response: HealthResponse,
    status: [200],
    errors: [],
    maintenance: false,
    tag: "Service",
    summary: "Health check",
  },
  {
    id: "openapiDocument",
    method: "GET",
    path: "/api/v1/openapi.json",
    auth: "none",
    response: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }),
    status: [200],
    errors: [],
    maintenance: false,
    tag: "Service",
    summary: "This document",
  },
  {
    id: "frameSchema",
    method: "GET",
    path: FRAME_SCHEMA_PATH,
    auth: "none",
    response: z.looseObject({ $schema: z.string(), $defs: z.record(z.string(), z.unknown()) }),
    status: [200],
    errors: [],
    maintenance: false,
    tag: "Service",
    summary: "The socket protocol as JSON Schema",
    description: "Client and server frames of the device and live sockets (docs/protocol.md), generated from the same zod schemas.",
  },
  {
    id: "apiReference",
    method: "GET",
    path: "/api/docs",
    auth: "none",
    response: { bytes: ["text/html"] },
    status: [200],
    errors: [],
    maintenance: false,
    tag: "Service",
    summary: "The interactive API reference",
  },
];

export const operations: Operation[] = [
  ...Object.entries(Endpoints).map(([id, e]) => fromEndpoint(id as EndpointName, e as Endpoint)),
  ...otherOperations,
];

/** Every refusal an operation can answer, its own and the ones its kind brings, grouped by HTTP status. */
export function refusalsOf(op: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>([ErrorCode.internal, ...op.errors]);
  // Anything under /api/ refuses a `?token=` outside a socket upgrade; a body or query can fail its schema.
  if (op.path.startsWith("/api/v1/") || op.query || op.body) codes.add(ErrorCode.badRequest);
  if (op.maintenance) codes.add(ErrorCode.maintenance);
  if (op.auth === "session" || op.auth === "socket" || op.auth === "admin") codes.add(ErrorCode.unauthorized);
  // Tokens and media URLs are signed with JWT_SECRET: a deployment without it answers this.
  if (op.path.startsWith("/api/v1/")) codes.add(ErrorCode.misconfigured);
  if (op.body && op.body !== "bytes") {
    codes.add(ErrorCode.invalidJson);
    codes.add(ErrorCode.contentTooLarge);
  }
  return [...codes];
}
