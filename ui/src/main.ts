import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { language } from "./lib/i18n";
import { setCoreLanguage } from "./lib/ipc";

// Screen readers pronounce the page in the language it is shown in.
document.documentElement.lang = language();
const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

// What Rust writes (checks, reasons, templates, chart labels, notifications) follows the same
// language; it is set before the first screen asks Rust for anything.
void setCoreLanguage(language())
  .catch((e: unknown) => console.error("Rust stays in English:", e))
  .finally(() => mount(App, { target }));
