#!/usr/bin/env bash
# The installed-package check, as a new user would meet the packages (needs only the npm
# registry): packs the library (vqlite) and the CLI (vqlite-cli) from this repository into a
# temporary folder, installs the library tarball alone into a fresh ESM app, runs the README's
# first library example (taken from README.md's "Library example" section at run time) and
# checks the nearest id it prints, type-checks a TypeScript file importing every entry point
# with skipLibCheck: false, asserts that no tooling package came with the library, prints the
# install's package count and size, checks 'vqlite/langchain' without its optional peer
# @langchain/core (MISSING_DEPENDENCY) and then with it (a store that adds, filters and
# retrieves; its types compile), then installs the CLI tarball too and runs
# `npx vqlite --version` and `npx vqlite datasets list`.
# One line per check ("ok" or "FAIL"); exits non-zero on any failure.
#   bash scripts/check-package.sh            (KEEP=1 keeps the temporary folder)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vqlite-package-check-XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "# work folder: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
APP="$WORK/app"
FAILED=0
NPM_FLAGS=(--no-audit --no-fund --loglevel=error)

ok() { echo "ok   $1"; }
fail() {
  echo "FAIL $1"
  FAILED=1
  if [ -n "${2:-}" ] && [ -f "$2" ]; then sed -e 's/^/     | /' "$2" | tail -n 25; fi
}
# A failed step the later checks depend on ends the run.
stop() { fail "$@"; echo "# stopped: later checks depend on this one"; exit 1; }

# 1. Pack both packages (their prepack scripts build them).
(cd "$ROOT" && npm pack --pack-destination "$WORK" >"$WORK/pack-lib.log" 2>&1) || stop "npm pack (library vqlite)" "$WORK/pack-lib.log"
LIB_TGZ=$(ls "$WORK"/vqlite-[0-9]*.tgz 2>/dev/null | head -n 1)
[ -n "$LIB_TGZ" ] || stop "npm pack (library vqlite): no tarball" "$WORK/pack-lib.log"
ok "npm pack library: $(basename "$LIB_TGZ") ($(du -h "$LIB_TGZ" | cut -f1))"
(cd "$ROOT" && npm pack --workspace vqlite-cli --pack-destination "$WORK" >"$WORK/pack-cli.log" 2>&1) || stop "npm pack (CLI vqlite-cli)" "$WORK/pack-cli.log"
CLI_TGZ=$(ls "$WORK"/vqlite-cli-*.tgz 2>/dev/null | head -n 1)
[ -n "$CLI_TGZ" ] || stop "npm pack (CLI vqlite-cli): no tarball" "$WORK/pack-cli.log"
ok "npm pack CLI: $(basename "$CLI_TGZ") ($(du -h "$CLI_TGZ" | cut -f1))"

# 2. What the tarballs hold.
tar -tzf "$LIB_TGZ" >"$WORK/lib-files.txt"
missing=""
for f in package/package.json package/LICENSE package/README.md package/dist/lib/index.js package/dist/src/index.d.ts \
  package/dist/lib/text.js package/dist/lib/langchain.js package/dist/lib/kernels.js package/dist/lib/worker.js \
  package/dist/lib/kernels.wasm package/dist/lib/kernels-relaxed.wasm package/dist/src/text/index.d.ts package/dist/native-free-kernels/index.d.ts; do
  grep -qx "$f" "$WORK/lib-files.txt" || missing="$missing $f"
done
stray=$(grep -E '^package/(dist/(bench|datasets|cli|test)/|src/|test/|bench/|datasets/|cli/|dist/(src|native-free-kernels)/.*\.js$)' "$WORK/lib-files.txt" | head -n 5 | tr '\n' ' ')
if [ -z "$missing" ] && [ -z "$stray" ]; then ok "library tarball: $(wc -l <"$WORK/lib-files.txt") files, the built library, LICENSE and README only"
else fail "library tarball files: missing [${missing# }] unexpected [${stray% }]"; fi
tar -tzf "$CLI_TGZ" >"$WORK/cli-files.txt"
missing=""
for f in package/package.json package/LICENSE package/dist/cli/vqlite.js package/dist/datasets/index.js package/dist/bench/suite/run.js; do
  grep -qx "$f" "$WORK/cli-files.txt" || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "CLI tarball: $(wc -l <"$WORK/cli-files.txt") files (dist/cli, dist/datasets, dist/bench/suite, dist/bench/lib, LICENSE)"
else fail "CLI tarball files: missing [${missing# }]"; fi

# 3. A fresh ESM app with the library tarball alone.
mkdir -p "$APP"
printf '{\n  "name": "vqlite-package-check-app",\n  "private": true,\n  "type": "module"\n}\n' >"$APP/package.json"
(cd "$APP" && npm install "${NPM_FLAGS[@]}" "$LIB_TGZ" >"$WORK/install-lib.log" 2>&1) || stop "npm install of the library tarball" "$WORK/install-lib.log"
ok "npm install of the library tarball into a fresh ESM app"

# 4. No tooling package in the library install (at any depth).
found=""
for p in vega vega-lite h5wasm basic-ftp tar cli-progress csv-parse commander; do
  if [ -n "$(find "$APP/node_modules" -path "*/node_modules/$p/package.json" -print -quit)" ]; then found="$found $p"; fi
done
if [ -z "$found" ]; then ok "library install holds none of vega, vega-lite, h5wasm, basic-ftp, tar, cli-progress, csv-parse, commander"
else fail "library install holds tooling packages:$found"; fi
count=$(ls -d "$APP"/node_modules/*/package.json "$APP"/node_modules/@*/*/package.json 2>/dev/null | wc -l)
size=$(du -sh "$APP/node_modules" | cut -f1)
ok "library install: $count packages, node_modules $size"

# 5. The README's first library example prints the right nearest id.
awk '/^## Library example/ { s = 1; next } s && /^## / { exit } s && /^```ts$/ { c = 1; next } c && /^```$/ { exit } c { print }' \
  "$ROOT/README.md" >"$APP/example.mjs"
if [ ! -s "$APP/example.mjs" ]; then
  fail "README example: no \`\`\`ts block under \"## Library example\" in README.md"
elif (cd "$APP" && node example.mjs >"$WORK/example.out" 2>&1); then
  first=$(head -n 1 "$WORK/example.out" | awk '{ print $1 }')
  if [ "$first" = 1000 ]; then ok "README library example: nearest id $first ($(head -n 1 "$WORK/example.out"))"
  else fail "README library example: printed nearest id '$first', expected 1000" "$WORK/example.out"; fi
else
  fail "README library example: node exited non-zero" "$WORK/example.out"
fi

# 6. The shipped types compile in a strict consumer with skipLibCheck: false.
(cd "$APP" && npm install "${NPM_FLAGS[@]}" --save-dev typescript @types/node@20 >"$WORK/install-ts.log" 2>&1) || stop "npm install typescript @types/node" "$WORK/install-ts.log"
cat >"$APP/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
EOF
cat >"$APP/consumer.ts" <<'EOF'
import { type SearchResult, VqError, VqIndex } from 'vqlite'
import { getKernels, type Kernels } from 'vqlite/kernels'
import { chunkText, type Embedder, TextIndex } from 'vqlite/text'

const dim = 8
const index: VqIndex = VqIndex.create(':memory:', { dim, metric: 'l2', description: 'Flat' })
const result: SearchResult = index.search(new Float32Array(dim), 1)
const kernels: Kernels = getKernels('ts')
const embedder: Embedder = { name: 'zeros', dim, embed: async (texts) => new Float32Array(texts.length * dim) }
const open: (path: string) => Promise<TextIndex> = (path) => TextIndex.create(path, embedder)
const chunks: number = chunkText('one two three').length
const isError = (e: unknown): e is VqError => e instanceof VqError
export { chunks, isError, kernels, open, result }
EOF
if (cd "$APP" && npx tsc -p tsconfig.json >"$WORK/tsc.log" 2>&1); then ok "consumer.ts importing vqlite, vqlite/kernels, vqlite/text type-checks with skipLibCheck: false"
else fail "consumer.ts does not type-check with skipLibCheck: false ($(grep -o 'error TS[0-9]*' "$WORK/tsc.log" | sort | uniq -c | awk '{ printf "%s%sx %s", (NR > 1 ? ", " : ""), $1, $3 }'))" "$WORK/tsc.log"; fi

# 7. vqlite/langchain. Without its optional peer @langchain/core (not installed with the library:
#    the checks above ran without it), importing it is VqError MISSING_DEPENDENCY; with the peer
#    installed, a store adds, searches with a filter and serves a retriever, and its types compile.
if [ -z "$(find "$APP/node_modules" -path '*/node_modules/@langchain/core/package.json' -print -quit)" ]; then
  ok "library install holds no @langchain/core (the optional peer of vqlite/langchain)"
else fail "library install holds @langchain/core, an optional peer"; fi
cat >"$APP/no-peer.mjs" <<'EOF'
try {
  await import('vqlite/langchain')
  console.log('imported')
} catch (e) {
  console.log(e.code ?? e.message)
}
EOF
got=$(cd "$APP" && node no-peer.mjs 2>&1)
if [ "$got" = MISSING_DEPENDENCY ]; then ok "import('vqlite/langchain') without @langchain/core: VqError MISSING_DEPENDENCY"
else fail "import('vqlite/langchain') without @langchain/core printed '$got', expected MISSING_DEPENDENCY"; fi
(cd "$APP" && npm install "${NPM_FLAGS[@]}" '@langchain/core@^1' >"$WORK/install-langchain.log" 2>&1) || stop "npm install @langchain/core" "$WORK/install-langchain.log"
cat >"$APP/langchain.mjs" <<'EOF'
import { VqliteVectorStore } from 'vqlite/langchain'
const vec = (t) => [(t.length % 7) + 1, t.split(' ').length, t.includes('deploy') ? 5 : 0.5]
const embeddings = { embedDocuments: async (texts) => texts.map(vec), embedQuery: async (t) => vec(t) }
const texts = ['deploy the app', 'cats and dogs', 'deploy again now']
const store = await VqliteVectorStore.fromTexts(texts, [{ n: 1 }, { n: 2 }, { n: 3 }], embeddings)
const hits = await store.similaritySearch('deploy it', 2, { n: { $gte: 2 } })
const retrieved = await store.asRetriever(1).invoke('deploy it')
console.log(hits.map((d) => d.metadata.n).join(','), retrieved.length)
await store.close()
EOF
got=$(cd "$APP" && node langchain.mjs 2>"$WORK/langchain.err")
core=$(node -p "require('$APP/node_modules/@langchain/core/package.json').version" 2>/dev/null)
if [ "$got" = "3,2 1" ]; then ok "vqlite/langchain with @langchain/core $core: filtered search and a retriever ($got)"
else fail "vqlite/langchain printed '$got', expected '3,2 1'" "$WORK/langchain.err"; fi
cat >"$APP/consumer-langchain.ts" <<'EOF'
import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import { VqliteEmbeddings, VqliteVectorStore, type VqliteStoreArgs } from 'vqlite/langchain'
import type { Embedder } from 'vqlite/text'

const embedder: Embedder = { name: 'ones', dim: 4, embed: async (texts) => new Float32Array(texts.length * 4).fill(1) }
const embeddings: EmbeddingsInterface = new VqliteEmbeddings(embedder)
const args: VqliteStoreArgs = { path: ':memory:', description: 'Flat', metric: 'cosine' }
const store: Promise<VqliteVectorStore> = VqliteVectorStore.fromTexts(['a'], {}, embeddings, args)
export { store }
EOF
sed 's/"consumer.ts"/"consumer-langchain.ts"/' "$APP/tsconfig.json" >"$APP/tsconfig.langchain.json"
if (cd "$APP" && npx tsc -p tsconfig.langchain.json >"$WORK/tsc-langchain.log" 2>&1); then
  ok "consumer-langchain.ts importing vqlite/langchain type-checks with skipLibCheck: false"
else
  fail "consumer-langchain.ts does not type-check with skipLibCheck: false ($(grep -o 'error TS[0-9]*' "$WORK/tsc-langchain.log" | sort | uniq -c | awk '{ printf "%s%sx %s", (NR > 1 ? ", " : ""), $1, $3 }'))" "$WORK/tsc-langchain.log"
fi

# 8. The CLI tarball on top: vqlite --version and a command that loads the tooling modules.
(cd "$APP" && npm install "${NPM_FLAGS[@]}" "$CLI_TGZ" >"$WORK/install-cli.log" 2>&1) || stop "npm install of the CLI tarball" "$WORK/install-cli.log"
ok "npm install of the CLI tarball next to the library"
want=$(node -p "require('$ROOT/cli/package.json').version")
got=$(cd "$APP" && npx --no-install vqlite --version 2>"$WORK/version.err")
if [ "$got" = "$want" ]; then ok "npx vqlite --version: $got"
else fail "npx vqlite --version printed '$got', expected '$want'" "$WORK/version.err"; fi
if (cd "$APP" && npx --no-install vqlite datasets list >"$WORK/datasets.out" 2>&1) && grep -q glove100 "$WORK/datasets.out"; then
  ok "npx vqlite datasets list (the CLI's tooling modules resolve the installed library)"
else fail "npx vqlite datasets list" "$WORK/datasets.out"; fi

if [ "$FAILED" = 0 ]; then echo "# all checks passed"; else echo "# some checks failed"; fi
exit "$FAILED"
