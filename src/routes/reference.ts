import { Hono } from "hono";
import type { AppEnv } from "../middleware/auth";
import { apiDocument } from "../openapi/document";

/** The OpenAPI document (mounted at /api/v1). */
export const documentRoutes = new Hono<AppEnv>().get("/openapi.json", (c) => c.json(apiDocument()));

/**
 * Swagger UI's files, served with the web client's (copied there from swagger-ui-dist by
 * web/vite.config.ts): the page works offline and its policy needs no other origin.
 */
export const SWAGGER_UI = { script: "/swagger-ui/swagger-ui-bundle.js", styles: "/swagger-ui/swagger-ui.css" };

/**
 * What the reference page may load: the script and styles from our origin and its own inline
 * start-up script (by nonce); inline styles, which Swagger UI sets on elements; requests to this
 * origin only (the document, and "try it out").
 */
function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function page(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley API</title>
<link rel="stylesheet" href="${SWAGGER_UI.styles}">
</head>
<body>
<div id="reference"></div>
<script src="${SWAGGER_UI.script}" nonce="${nonce}"></script>
<script nonce="${nonce}">
SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#reference", deepLinking: true, displayRequestDuration: true, validatorUrl: null });
</script>
</body>
</html>
`;
}

/** The interactive reference (mounted at /api): Swagger UI over the document. */
export const referenceRoutes = new Hono<AppEnv>().get("/docs", (c) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  c.header("Content-Security-Policy", pagePolicy(nonce));
  c.header("Cache-Control", "no-store");
  return c.html(page(nonce));
});
