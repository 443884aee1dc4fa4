import preact from "@preact/preset-vite";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

/**
 * Scalar's page script for the API reference at /api/docs (src/routes/reference.ts), served from
 * our own origin so the page works offline and under a policy that names no other origin.
 */
function scalarScript(): Plugin {
  const source = resolve(import.meta.dirname, "../node_modules/@scalar/api-reference/dist/browser/standalone.js");
  return {
    name: "parley-scalar-script",
    generateBundle() {
      if (!existsSync(source)) {
        this.warn("@scalar/api-reference is not installed: /api/docs will have no script (npm install @scalar/api-reference)");
        return;
      }
      this.emitFile({ type: "asset", fileName: "scalar/standalone.js", source: readFileSync(source) });
    },
  };
}

// The web client is static files served by the Worker itself (wrangler.toml [assets]).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), scalarScript()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
});
