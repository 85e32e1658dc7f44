// Compile contracts/PunkgenRenderer.sol with the pinned solc-js and write generator/publish/onchain/PunkgenRenderer.json
// (package data: exporting and deploying read it with no Node and no contracts/ folder).
// Usage: node contracts/compile.mjs NODE_PREFIX [OUT]   (NODE_PREFIX holds node_modules with solc and @openzeppelin)
// Standard JSON input with every setting pinned, sources read in a fixed order, output written with sorted keys:
// the same solc gives the same file byte for byte, which CI checks against the committed artifact.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = path.resolve(process.argv[2] ?? path.join(here, "..", ".ci", "node"));
const out = process.argv[3] ?? path.join(here, "..", "generator", "publish", "onchain", "PunkgenRenderer.json");
const require = createRequire(path.join(prefix, "node_modules", "noop.js"));
const solc = require("solc");
const modules = path.join(prefix, "node_modules");

const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  metadata: { bytecodeHash: "none", appendCBOR: false },
  outputSelection: { "PunkgenRenderer.sol": { PunkgenRenderer: ["abi", "evm.bytecode.object"] } },
};
const input = {
  language: "Solidity",
  sources: { "PunkgenRenderer.sol": { content: fs.readFileSync(path.join(here, "PunkgenRenderer.sol"), "utf8") } },
  settings,
};
const findImports = (name) => {
  const file = path.join(modules, name);
  return fs.existsSync(file) ? { contents: fs.readFileSync(file, "utf8") } : { error: `not found: ${name}` };
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);
const contract = output.contracts["PunkgenRenderer.sol"].PunkgenRenderer;
const oz = JSON.parse(fs.readFileSync(path.join(modules, "@openzeppelin", "contracts", "package.json"), "utf8")).version;
const artifact = {
  contractName: "PunkgenRenderer",
  compiler: { solc: solc.version(), openzeppelin: oz, settings: { ...settings, outputSelection: undefined } },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
};
const sorted = (value) =>
  Array.isArray(value)
    ? value.map(sorted)
    : value && typeof value === "object"
      ? Object.fromEntries(Object.keys(value).sort().filter((k) => value[k] !== undefined).map((k) => [k, sorted(value[k])]))
      : value;
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(sorted(artifact), null, 1) + "\n");
console.log(`${out}: ${contract.evm.bytecode.object.length / 2} bytes of creation code (solc ${solc.version()})`);
