# reflow — the commands a newcomer needs. Every target installs what it needs first.
NODE_MODULES := node_modules/.package-lock.json

.PHONY: all install build run test interop bench clean

all: build

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES)

# tsc type-checks and writes the .d.ts files; esbuild bundles the JavaScript (scripts/bundle.mjs says why).
build: install
	npx tsc -p tsconfig.json --emitDeclarationOnly
	node scripts/bundle.mjs

# The main job on the shipped sample: redact credentials from mitmdump's capture with a
# script, then show what changed (diff exits 1 when files differ: that is the point here).
run: build
	node dist/cli/main.js run -r fixtures/sample.mitm -s examples/redact.ts -w /tmp/reflow-sample-redacted.mitm -v
	node dist/cli/main.js diff fixtures/sample.mitm /tmp/reflow-sample-redacted.mitm || test $$? -eq 1

# Unit and CLI tests (interop tests against the real mitmdump are `make interop`).
test: build
	npx vitest run --exclude 'test/interop/**'

# Interop with Debian's mitmdump 8.1.1 (skipped where it is missing, required when CI is set).
interop: build
	npx vitest run test/interop

# Speed and memory against mitmdump 8.1.1 and cat, measured in one run (see bench/).
bench: build
	node bench/run.mjs
	node bench/diff.mjs
	node bench/capture.mjs
	node bench/replay.mjs

clean:
	rm -rf dist bench/out
