import type { TestProject } from "vitest/node";
import { DevServer } from "./devServer";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
  }
}

/** One real server (scripts/server.ts, as `npm start` runs it) shared by the Node-side SDK and browser tests. */
export default async function setup(project: TestProject) {
  const server = new DevServer();
  await server.start();
  project.provide("serverUrl", server.url);
  return async () => {
    await server.stop();
  };
}
