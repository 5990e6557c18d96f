// Drives the official JS hub client (@huggingface/hub, from .deps/node-hf-hub via NODE_PATH) for the cache tests.
//   node hf-hub-client.js snapshot HUB_URL CACHE_DIR REPO REVISION          -> prints the snapshot folder
//   node hf-hub-client.js files HUB_URL CACHE_DIR REPO REVISION PATH...     -> prints one cached path per file
const hub = require("@huggingface/hub");
const [mode, hubUrl, cacheDir, repo, revision, ...paths] = process.argv.slice(2);
console.debug = () => {}; // keep stdout to the answers
(async () => {
  if (mode === "snapshot") console.log(await hub.snapshotDownload({ repo, hubUrl, cacheDir, revision }));
  else for (const path of paths) console.log(await hub.downloadFileToCacheDir({ repo, path, hubUrl, cacheDir, revision }));
})().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
