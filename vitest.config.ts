import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Test-only values; production takes JWT_SECRET from `wrangler secret put`.
        bindings: { ENVIRONMENT: "test", JWT_SECRET: "test-secret-test-secret-test-secret-0123456789" },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
