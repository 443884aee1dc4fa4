import { z } from "zod";
import { ClientFrame, ServerFrame } from "./frames";
import { Limits } from "./limits";

/** Where the document is served; also its `$id`, so a validator can resolve the `$ref`s in it. */
export const FRAME_SCHEMA_PATH = "/api/v1/frames.schema.json";

/** One zod schema as a JSON Schema to sit under `$defs` (the document carries the dialect). */
function definition(schema: z.ZodType, io: "input" | "output") {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12" });
  return rest;
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
      ClientFrame: definition(ClientFrame, "input"),
      ServerFrame: definition(ServerFrame, "output"),
      ClientMessage: messageOf("ClientFrame", Limits.maxFramesPerMessage),
      ServerMessage: messageOf("ServerFrame", null),
    },
  };
}
