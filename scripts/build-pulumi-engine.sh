#!/usr/bin/env bash
# Builds the real Pulumi engine for offline previews from the Go module proxy, into the
# git-ignored .cache/pulumi-engine/:
#   bin/pulumi                          the Pulumi CLI
#   bin/pulumi-language-python          the Python language host
#   bin/pulumi-language-python-exec     the Python shim the host runs the program with
#   home/plugins/resource-aws-v<V>/pulumi-resource-aws
#                                       the glue-lakehouse stand-in for the AWS provider
#                                       (engine/standin-provider): proves the engine,
#                                       configuration, program and policy wiring, not AWS behaviour
#   policy-venv/                        the policy pack's virtualenv, from policy/requirements.txt
#                                       (scripts/pulumi-preview.sh runs the pack with it)
# Versions: engine/versions.env (the one place they are pinned). Idempotent: each part is
# skipped when the stamp in .cache/pulumi-engine/stamps/ says it is built for the pinned
# version (the stand-in also for its current source). Go's own caches (GOMODCACHE, GOCACHE)
# make rebuilds fast. A cold build of the CLI takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[1;31mbuild-pulumi-engine: %s\033[0m\n' "$*" >&2; exit 1; }
trap 'die "failed at line $LINENO (see the output above)"' ERR

# shellcheck source=../engine/versions.env
. engine/versions.env
: "${PULUMI_CLI_VERSION:?} ${PULUMI_PYTHON_HOST_VERSION:?} ${PULUMI_SDK_VERSION:?} ${AWS_PROVIDER_VERSION:?}"

command -v go >/dev/null || die "go is not on PATH (the engine is built from the Go module proxy)"

ENGINE=$ROOT/.cache/pulumi-engine
BIN=$ENGINE/bin
STAMPS=$ENGINE/stamps
PLUGIN_DIR=$ENGINE/home/plugins/resource-aws-v$AWS_PROVIDER_VERSION
mkdir -p "$BIN" "$STAMPS" "$ENGINE/go"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
VERSION_PKG=github.com/pulumi/pulumi/sdk/v3/go/common/version

stamped() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp() { printf '%s\n' "$2" >"$STAMPS/$1"; }
elapsed() { echo "$(($(date +%s) - $1))s"; }

# A scratch Go module that requires MODULE@VERSION, so `go build` can build one of its
# packages (a plain `go install pkg@version` refuses modules with replace directives).
scratch_module() { # DIR MODULE VERSION
  local dir=$1 module=$2 version=$3
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && go mod init "glue-lakehouse.local/engine-build/$(basename "$dir")" >/dev/null 2>&1 &&
    printf 'package main\n' >placeholder.go &&
    go get "$module@$version" >go-get.log 2>&1) ||
    { tail -20 "$dir/go-get.log" >&2; die "go get $module@$version failed (is that version served by the Go module proxy?)"; }
}

# 1. The Pulumi CLI.
want="pulumi $PULUMI_CLI_VERSION"
if stamped cli "$want" && [ -x "$BIN/pulumi" ]; then
  say "CLI $PULUMI_CLI_VERSION already built"
else
  t0=$(date +%s)
  say "building the Pulumi CLI $PULUMI_CLI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi; ~10 min cold)"
  scratch_module "$ENGINE/go/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_CLI_VERSION"
  (cd "$ENGINE/go/cli" && go build -ldflags "-X $VERSION_PKG.Version=$PULUMI_CLI_VERSION" \
    -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) || die "go build of the Pulumi CLI failed"
  stamp cli "$want"
  say "CLI built in $(elapsed "$t0"): $("$BIN/pulumi" version)"
fi

# 2. The Python language host.
want="pulumi-language-python $PULUMI_PYTHON_HOST_VERSION"
if stamped python-host "$want" && [ -x "$BIN/pulumi-language-python" ]; then
  say "Python language host $PULUMI_PYTHON_HOST_VERSION already built"
else
  t0=$(date +%s)
  say "building the Python language host $PULUMI_PYTHON_HOST_VERSION (github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python)"
  scratch_module "$ENGINE/go/python-host" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python "$PULUMI_PYTHON_HOST_VERSION"
  (cd "$ENGINE/go/python-host" && go build -ldflags "-X $VERSION_PKG.Version=$PULUMI_PYTHON_HOST_VERSION" \
    -o "$BIN/pulumi-language-python" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python) ||
    die "go build of the Python language host failed"
  stamp python-host "$want"
  say "Python language host built in $(elapsed "$t0")"
fi

# 3. pulumi-language-python-exec: a Python file shipped in the sdk/v3 module.
want="pulumi-language-python-exec $PULUMI_SDK_VERSION"
if stamped python-exec "$want" && [ -f "$BIN/pulumi-language-python-exec" ]; then
  say "pulumi-language-python-exec $PULUMI_SDK_VERSION already in place"
else
  say "fetching pulumi-language-python-exec from github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_VERSION"
  sdk_dir=$(cd "$ENGINE/go" && GOFLAGS=-mod=mod go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  exec_src=$sdk_dir/python/cmd/pulumi-language-python-exec
  [ -f "$exec_src" ] || die "$exec_src not found (sdk/v3@$PULUMI_SDK_VERSION not downloaded?)"
  install -m 0755 "$exec_src" "$BIN/pulumi-language-python-exec"
  stamp python-exec "$want"
fi

# 4. The stand-in for the AWS provider (the project's own Go module).
src_hash=$(cat engine/standin-provider/go.mod engine/standin-provider/go.sum engine/standin-provider/*.go | sha256sum | cut -c1-16)
want="standin aws $AWS_PROVIDER_VERSION sdk $PULUMI_SDK_VERSION src $src_hash"
if stamped standin-provider "$want" && [ -x "$PLUGIN_DIR/pulumi-resource-aws" ]; then
  say "stand-in AWS provider $AWS_PROVIDER_VERSION already built"
else
  t0=$(date +%s)
  say "building the glue-lakehouse stand-in for the AWS provider (presents itself as aws $AWS_PROVIDER_VERSION)"
  mkdir -p "$PLUGIN_DIR"
  (cd engine/standin-provider && go build -ldflags "-X main.version=$AWS_PROVIDER_VERSION" \
    -o "$PLUGIN_DIR/pulumi-resource-aws" .) || die "go build of engine/standin-provider failed"
  stamp standin-provider "$want"
  say "stand-in provider built in $(elapsed "$t0")"
fi

# 5. The policy pack's virtualenv (the pack runs in its own venv, as the Pulumi CLI runs packs).
POLICY_VENV=$ENGINE/policy-venv
stamp_file=.installed-$(sha256sum policy/requirements.txt | cut -c1-16)
if [ -f "$POLICY_VENV/$stamp_file" ] && [ -x "$POLICY_VENV/bin/python" ]; then
  say "policy pack venv already matches policy/requirements.txt"
else
  t0=$(date +%s)
  say "creating the policy pack's venv .cache/pulumi-engine/policy-venv from policy/requirements.txt"
  rm -rf "$POLICY_VENV"
  # uv (scripts/setup.sh installs it) resolves and installs in seconds where pip took over a minute.
  # policy/requirements.txt pins a setuptools older than 81: parliament imports pkg_resources.
  UV=$ROOT/.cache/uv/bin/uv
  [ -x "$UV" ] || die "$UV is missing: run scripts/setup.sh (make setup) first"
  "$UV" venv --quiet --python "$(command -v python3)" "$POLICY_VENV" || die "uv venv $POLICY_VENV failed"
  "$UV" pip install --quiet --python "$POLICY_VENV/bin/python" -r policy/requirements.txt ||
    die "uv pip install -r policy/requirements.txt failed"
  touch "$POLICY_VENV/$stamp_file"
  say "policy pack venv created in $(elapsed "$t0")"
fi

say "engine ready in .cache/pulumi-engine: $("$BIN/pulumi" version) CLI, Python host $PULUMI_PYTHON_HOST_VERSION, stand-in aws $AWS_PROVIDER_VERSION"
