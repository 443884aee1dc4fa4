/**
 * Writes docs/frames.schema.json, the socket protocol as JSON Schema (src/protocol/frameSchema.ts),
 * so it can be read without a running server. test/api/frame-schema.test.ts fails when the file
 * and the schemas disagree: run `npm run schemas` after changing a frame.
 */
import { writeFileSync } from "node:fs";

// Loaded by path under tsx: src/ resolves imports the bundler's way, which this folder's NodeNext checking does not follow.
const source = "../src/protocol/frameSchema.ts";
const { frameJsonSchema } = (await import(source)) as { frameJsonSchema(): unknown };

writeFileSync(new URL("../docs/frames.schema.json", import.meta.url), `${JSON.stringify(frameJsonSchema(), null, 2)}\n`);
