import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { language } from "./lib/i18n";

// Screen readers pronounce the page in the language it is shown in.
document.documentElement.lang = language();

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

export default mount(App, { target });
