/**
 * Module loader hooks that `probe.js` registers on traced runs: every module that the ES module
 * loader loads (ES modules, builtins, and CommonJS files imported from them) is appended to the
 * trace file, one URL per line, before it runs. CommonJS files that those files `require()`
 * do not pass through these hooks on Node 20, so the probe adds the require cache at exit.
 */
import { appendFileSync } from "node:fs";
import type { InitializeHook, LoadHook } from "node:module";

let tracePath = "";

export const initialize: InitializeHook<string> = (data) => {
  tracePath = data;
};

export const load: LoadHook = (url, context, nextLoad) => {
  appendFileSync(tracePath, `${url}\n`);
  return nextLoad(url, context);
};
