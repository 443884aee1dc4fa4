import preact from "@preact/preset-vite";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

/**
 * Swagger UI's script and styles for the API reference at /api/docs (src/routes/reference.ts),
 * served from our own origin so the page works offline and under a policy that names no other origin.
 */
function swaggerUiFiles(): Plugin {
  const dist = resolve(import.meta.dirname, "../node_modules/swagger-ui-dist");
  return {
    name: "parley-swagger-ui",
    generateBundle() {
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
        this.emitFile({ type: "asset", fileName: `swagger-ui/${file}`, source: readFileSync(resolve(dist, file)) });
      }
    },
  };
}

// The web client is static files served by the Worker itself (wrangler.toml [assets]).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), swaggerUiFiles()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
});
