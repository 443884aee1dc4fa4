import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import type { AppEnv } from "../middleware/auth";
import { apiDocument } from "../openapi/document";

/** The OpenAPI document (mounted at /api/v1). */
export const documentRoutes = new Hono<AppEnv>().get("/openapi.json", (c) => c.json(apiDocument()));

/**
 * Scalar's page script, served with the web client's files (copied there by web/vite.config.ts):
 * the page works offline and its policy needs no other origin.
 */
export const SCALAR_SCRIPT = "/scalar/standalone.js";

/**
 * What the reference page may load: the script from our origin and its own inline start-up script
 * (by nonce); inline styles, which Scalar sets on elements; requests to this origin only (the
 * document, and "try it").
 */
function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The interactive reference (mounted at /api). */
export const referenceRoutes = new Hono<AppEnv>().get(
  "/docs",
  Scalar<AppEnv>((c) => {
    const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    c.header("Content-Security-Policy", pagePolicy(nonce));
    c.header("Cache-Control", "no-store");
    return {
      url: "/api/v1/openapi.json",
      cdn: SCALAR_SCRIPT,
      nonce,
      pageTitle: "Parley API",
      // Nothing from elsewhere: no web fonts, no telemetry, no AI agent or MCP panels.
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: "never",
    };
  }),
);
