import { z } from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject, type ZodOpenApiResponsesObject } from "zod-openapi";
import {
  ConversationId,
  errorStatus,
  NoContent,
  PROTOCOL_VERSION,
  ServerMsgId,
  UserId,
  type ErrorCode,
} from "../protocol";
import { operations, refusalsOf, type Operation } from "./operations";

/**
 * The REST API as an OpenAPI 3.1 document, built from the same zod schemas the routes validate with
 * (src/openapi/operations.ts lists them). Served at /api/v1/openapi.json and read by the reference
 * page at /api/docs.
 */

/** Every path parameter, by name: a path naming another fails the build (and its test). */
const pathParams: Record<string, z.ZodType> = {
  user_id: UserId.meta({ description: "A user's id" }),
  conversation_id: ConversationId.meta({ description: "A conversation's id" }),
  server_msg_id: ServerMsgId.meta({ description: "A message's `server_msg_id`" }),
  media_id: z.string().meta({ description: "An upload's `media_id`" }),
  token: z.string().meta({ description: "An invite link's token" }),
  device_id: z.string().meta({ description: "The device whose subscription to end" }),
};

const successText: Record<number, string> = {
  101: "Switching Protocols: the socket is open",
  200: "OK",
  201: "Created",
  204: "No content",
  206: "Part of the bytes (a Range request)",
  304: "Not modified since the ETag the request named",
};

const tags = [
  { name: "Accounts", description: "Registration, login and sessions. Send the token as `Authorization: Bearer <token>`." },
  { name: "Users", description: "Profiles, settings, presence and blocks." },
  { name: "Conversations", description: "Direct conversations and groups, their members and messages." },
  { name: "Invitations", description: "Ways into a group besides being added: invitations and invite links." },
  { name: "Media", description: "Uploads (ask, PUT the bytes, send the `media_id` in a message) and downloads." },
  { name: "Push", description: "Web Push subscriptions." },
  { name: "Sockets", description: "WebSocket upgrades. Their frames are JSON Schema at `/api/v1/frames.schema.json` and explained in docs/protocol.md." },
  { name: "Operators", description: "For running a deployment: the ADMIN_SECRET as bearer token; absent (404) without it." },
  { name: "Service", description: "Health and this reference." },
];

export const toOpenApiPath = (path: string) => path.replace(/:([a-z_]+)/g, "{$1}");

function security(op: Operation): Record<string, string[]>[] {
  switch (op.auth) {
    case "session":
      return [{ session: [] }];
    case "socket":
      return [{ session: [] }, { sessionInUrl: [] }];
    case "admin":
      return [{ admin: [] }];
    case "signed":
    case "none":
      return [];
  }
}

function responses(op: Operation): ZodOpenApiResponsesObject {
  const out: Record<string, ZodOpenApiResponseObject> = {};
  for (const status of op.status) {
    const description = successText[status] ?? "Success";
    if (op.response === "upgrade" || op.response === NoContent || status === 204 || status === 304) out[String(status)] = { description };
    else if ("bytes" in op.response) out[String(status)] = { description, content: Object.fromEntries(op.response.bytes.map((type) => [type, {}])) };
    else out[String(status)] = { description, content: { "application/json": { schema: op.response } } };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of refusalsOf(op)) byStatus.set(errorStatus[code], [...(byStatus.get(errorStatus[code]) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: codes.map((c) => `\`${c}\``).join(", "),
      content: {
        "application/json": {
          schema: z.object({ error: z.object({ code: z.enum(codes as [ErrorCode, ...ErrorCode[]]), message: z.string() }) }),
        },
      },
    };
  }
  return out as ZodOpenApiResponsesObject;
}

function operation(op: Operation): ZodOpenApiOperationObject {
  const names = [...op.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1]!);
  const path = names.length > 0 ? z.object(Object.fromEntries(names.map((n) => [n, pathParams[n] ?? unknownParam(n, op)]))) : undefined;
  const body =
    op.body === "bytes"
      ? { required: true, description: "The bytes, with the Content-Type the upload was declared with", content: { "*/*": {} } }
      : op.body
        ? { required: true, content: { "application/json": { schema: op.body } } }
        : undefined;
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: security(op),
    ...(path || op.query ? { requestParams: { ...(path ? { path } : {}), ...(op.query ? { query: op.query as z.ZodObject } : {}) } } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: responses(op),
  };
}

function unknownParam(name: string, op: Operation): never {
  throw new Error(`${op.id}: no description of the path parameter ${name}`);
}

function build() {
  const paths: ZodOpenApiPathsObject = {};
  for (const op of operations) {
    const item = (paths[toOpenApiPath(op.path)] ??= {});
    const method = op.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete";
    if (item[method]) throw new Error(`${op.method} ${op.path} is described twice`);
    item[method] = operation(op);
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Parley",
      version: String(PROTOCOL_VERSION),
      description:
        "Real-time messaging: the REST API and the socket upgrades. Every refusal is `{\"error\":{\"code\",\"message\"}}`; " +
        "the socket frames, error codes and limits are in docs/protocol.md.",
    },
    tags,
    paths,
    components: {
      securitySchemes: {
        session: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A session token, from register, login or refresh." },
        sessionInUrl: { type: "apiKey", in: "query", name: "token", description: "Socket upgrades only, for browsers, which cannot set headers on one." },
        admin: { type: "http", scheme: "bearer", description: "The deployment's ADMIN_SECRET." },
      },
    },
  });
}

let built: ReturnType<typeof build> | undefined;

/** Built once per isolate, on first request. */
export function apiDocument() {
  built ??= build();
  return built;
}
