#!/usr/bin/env bash
# Installs everything glue-lakehouse needs from nothing: the virtualenv with the locked packages
# of uv.lock, the jars local Spark needs (Maven Central) and the tools the tests run (the real
# Pulumi engine is `make engine`: scripts/build-pulumi-engine.sh). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# uv (from PyPI) installs exactly the versions of uv.lock; the same version as the pull-request
# workflow and the Pulumi Deployments files (tests/policy/test_policy_ci.py keeps them equal).
UV_VERSION=0.13.8
UV=.cache/uv/bin/uv
if ! { [ -x "$UV" ] && "$UV" --version | grep -q "^uv $UV_VERSION "; }; then
  say "installing uv $UV_VERSION (PyPI) into .cache/uv"
  rm -rf .cache/uv
  python3 -m pip install --quiet --target .cache/uv "uv==$UV_VERSION"
fi
stamp=.venv/.installed-$(cat pyproject.toml uv.lock | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "installing the locked packages of uv.lock (runtime and dev) into .venv"
  UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --extra dev --python python3.11
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ ! -x .venv/bin/actionlint ]; then
  say "installing actionlint v1.7.12 (Go module proxy) for the workflow lint test"
  GOBIN="$PWD/.venv/bin" go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing PostgreSQL server binaries (throwaway local servers for the JDBC pipelines and their tests)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

say "fetching jars for local Spark"
bash scripts/fetch-jars.sh

# The official awsglue library of Glue 5.0 (PyPI awsgluedataplanepython, Amazon Software License), for
# the tests that parse each job's command line with the real getResolvedOptions. It goes to
# .cache/awsglue, not the venv: with awsglue importable, every local run would take the Glue branch.
AWSGLUE_VERSION=5.0.0
if [ ! -f ".cache/awsglue/awsgluedataplanepython-$AWSGLUE_VERSION.dist-info/METADATA" ]; then
  say "installing awsgluedataplanepython $AWSGLUE_VERSION into .cache/awsglue (tests only)"
  rm -rf .cache/awsglue
  "$UV" pip install --quiet --no-deps --python .venv/bin/python --target .cache/awsglue \
    "awsgluedataplanepython==$AWSGLUE_VERSION"
fi


# asl-validator (npm), for the test that validates the Step Functions definitions the program builds
# against the Amazon States Language schema; pinned, into .cache/asl-validator (tests only).
ASL_VALIDATOR_VERSION=4.0.0
if ! grep -qs "\"version\": \"$ASL_VALIDATOR_VERSION\"" .cache/asl-validator/node_modules/asl-validator/package.json; then
  say "installing asl-validator $ASL_VALIDATOR_VERSION (npm) into .cache/asl-validator (tests only)"
  rm -rf .cache/asl-validator
  npm install --silent --no-audit --no-fund --prefix .cache/asl-validator "asl-validator@$ASL_VALIDATOR_VERSION"
fi
