import { z } from "zod";
import { ClientFrame, ServerFrame } from "./frames";
import { Limits } from "./limits";

/** Where the document is served; also its `$id`, so a validator can resolve the `$ref`s in it. */
export const FRAME_SCHEMA_PATH = "/api/v1/frames.schema.json";

type JsonSchema = Record<string, unknown>;

/**
 * Zod schemas as JSON Schemas under one `$defs`: the named models they share (`.meta({ id })`,
 * e.g. Message) are hoisted beside them, where their `#/$defs/…` references point. The document
 * carries the dialect.
 */
function definitions(schemas: { name: string; schema: z.ZodType; io: "input" | "output" }[]): Record<string, JsonSchema> {
  const defs: Record<string, JsonSchema> = {};
  const put = (name: string, schema: JsonSchema) => {
    // A model named twice must be the same twice (an input and an output form could differ).
    if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(schema)) throw new Error(`two different JSON Schemas for ${name}`);
    defs[name] = schema;
  };
  for (const { name, schema, io } of schemas) {
    const { $schema: _dialect, $defs: shared = {}, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12" }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [id, def] of Object.entries(shared)) put(id, def);
    put(name, rest);
  }
  return defs;
}

/** A socket message: one frame, or (client → server always; server → client on `parley.v2`) an array of them. */
const messageOf = (frame: string, maxItems: number | null) => ({
  oneOf: [{ $ref: `#/$defs/${frame}` }, { type: "array", minItems: 1, ...(maxItems !== null ? { maxItems } : {}), items: { $ref: `#/$defs/${frame}` } }],
});

/**
 * The socket protocol of both sockets (device `/api/v1/ws` and live `/api/v1/conversations/:id/ws`)
 * as JSON Schema, generated from the zod schemas the server, SDK and web client use. Client frames
 * are described as the server accepts them (unknown fields are ignored); server frames exactly as
 * sent (nothing beyond the listed fields). `checkOutgoing`'s rules (sizes in bytes, non-empty
 * text, media needing a media_id) are beyond what a schema says well and are listed in protocol.md.
 */
export function frameJsonSchema() {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: FRAME_SCHEMA_PATH,
    title: "Parley socket frames",
    description:
      "Frames on Parley's device and live sockets. A client socket message is a ClientMessage, a server socket message a ServerMessage (arrays only to clients that chose the parley.v2 subprotocol). See docs/protocol.md.",
    $defs: {
      ...definitions([
        { name: "ClientFrame", schema: ClientFrame, io: "input" },
        { name: "ServerFrame", schema: ServerFrame, io: "output" },
      ]),
      ClientMessage: messageOf("ClientFrame", Limits.maxFramesPerMessage),
      ServerMessage: messageOf("ServerFrame", null),
    },
  };
}
