#!/usr/bin/env bash
# Runs every test of the project: go vet, the native tests (browser tests
# included when Chromium is installed), and the tests of the packages the
# page runs, compiled to js/wasm and run under Node.js.
set -euo pipefail
cd "$(dirname "$0")"

go vet ./...
page=(./core ./core/imaging ./core/kernels ./core/network ./wasm/...)
GOOS=js GOARCH=wasm go vet "${page[@]}"
go test ./...
PATH="$PATH:$(go env GOROOT)/lib/wasm" GOOS=js GOARCH=wasm go test "${page[@]}"
