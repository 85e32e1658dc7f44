// FastLZ for bench/onchain_compression.py: solady's own JavaScript compressor on each file named, and
// contracts/bench/FlzBench.sol compiled with the pinned solc-js and the renderer's settings.
// Usage: node bench/onchain_flz.mjs NODE_PREFIX FILE...   prints {"bytecode": "0x…", "compressed": ["0x…", …]}
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [prefix, ...files] = process.argv.slice(2);
const modules = path.join(path.resolve(prefix), "node_modules");
const require = createRequire(path.join(modules, "noop.js"));
const solc = require("solc");
const { LibZip } = require("solady/js/solady.js");
const source = path.join(here, "..", "contracts", "bench", "FlzBench.sol");
const input = {
  language: "Solidity",
  sources: { "FlzBench.sol": { content: fs.readFileSync(source, "utf8") } },
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    outputSelection: { "FlzBench.sol": { FlzBench: ["evm.bytecode.object"] } },
  },
};
const findImports = (name) => {
  const file = path.join(modules, name);
  return fs.existsSync(file) ? { contents: fs.readFileSync(file, "utf8") } : { error: `not found: ${name}` };
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const compressed = files.map((file) => LibZip.flzCompress("0x" + fs.readFileSync(file).toString("hex")));
const bytecode = "0x" + output.contracts["FlzBench.sol"].FlzBench.evm.bytecode.object;
console.log(JSON.stringify({ bytecode, compressed }));
