import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The web client is static files served by the Worker itself (wrangler.toml [assets]).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
});
