import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "./devServer";

declare module "vitest" {
  export interface ProvidedContext {
    s3Port: number;
  }
}

/**
 * A real S3 endpoint for the S3 media path: s3rver on loopback with the bucket the tests use.
 * (s3rver does not check SigV4 signatures; the tests check them with an independent signer.)
 */
export default async function setup(project: TestProject) {
  // @ts-expect-error s3rver ships no types
  const { default: S3rver } = await import("s3rver");
  const directory = mkdtempSync(join(tmpdir(), "parley-s3-"));
  const port = await freePort();
  const server = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: [{ name: "parley-media-s3" }] });
  await server.run();
  project.provide("s3Port", port);
  return async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  };
}
