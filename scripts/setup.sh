#!/usr/bin/env bash
# Installs everything glue-lakehouse needs from nothing: the virtualenv with the pinned
# packages of pyproject.toml, the jars local Spark needs (Maven Central), the tools the
# tests run, and the real Pulumi engine with the policy pack's venv (scripts/build-pulumi-engine.sh)
# that tests/engine previews the stacks with. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv (python3 $(python3 -c 'import sys; print(sys.version.split()[0])'))"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "installing pinned packages from pyproject.toml"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
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
  .venv/bin/python -m pip install --quiet --no-deps --target .cache/awsglue "awsgluedataplanepython==$AWSGLUE_VERSION"
fi

