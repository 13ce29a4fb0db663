#!/usr/bin/env node
import { main } from "./apps/cli.js";

process.exitCode = await main(process.argv.slice(2));
