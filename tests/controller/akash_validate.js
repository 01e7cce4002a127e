// Validate an Akash SDL with the official @akashnetwork/akashjs parser (beta3 network).
// Usage: node akash_validate.js FILE  -> prints {"manifest": ..., "groups": ...} or exits 1 with the error.
const { SDL } = require("@akashnetwork/akashjs/build/sdl/index.js");
const fs = require("fs");
try {
  const sdl = SDL.fromString(fs.readFileSync(process.argv[2], "utf8"), "beta3");
  process.stdout.write(JSON.stringify({ manifest: sdl.manifest(), groups: sdl.groups() }));
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
