// Parity reference: runs @lenml/tokenizers (a transformers.js fork) over a corpus.
// stdin:  {"models": [{"name": "...", "dir": "<dir with tokenizer.json + tokenizer_config.json>"}], "texts": ["..."]}
// stdout: {"<name>": [{"ids": [...], "idsNoSpecial": [...], "decoded": "...", "decodedWithSpecial": "..."}, ...]}
// Usage: node reference-tokenize.js <node_modules parent dir>   (e.g. .deps/node-tokenizers)
"use strict";
const fs = require("fs");
const path = require("path");

const { TokenizerLoader } = require(path.join(path.resolve(process.argv[2]), "node_modules", "@lenml", "tokenizers"));
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const out = {};

for (const model of input.models) {
  const readJson = (file) => JSON.parse(fs.readFileSync(path.join(model.dir, file), "utf8"));
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson("tokenizer.json"),
    tokenizerConfig: readJson("tokenizer_config.json"),
  });
  // clean_up_tokenization_spaces is off: InferServe never applies that lossy English-only rewrite.
  const decode = (ids, skip) =>
    ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  out[model.name] = input.texts.map((text) => {
    const ids = tokenizer.encode(text);
    return {
      ids,
      idsNoSpecial: tokenizer.encode(text, { add_special_tokens: false }),
      decoded: decode(ids, true),
      decodedWithSpecial: decode(ids, false),
    };
  });
}
process.stdout.write(JSON.stringify(out));
