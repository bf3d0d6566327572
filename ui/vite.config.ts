import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // Tauri serves the built files itself; keep paths relative and the output where tauri.conf.json looks.
  base: "./",
  clearScreen: false,
  build: { outDir: "dist", target: "safari15", emptyOutDir: true },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
