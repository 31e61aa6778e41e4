// Loads the wasm UI; a separate file so the strict CSP needs no inline script.
import init from "./kintara-ui.js";
init();
