#!/usr/bin/env bash
# Runs `pulumi preview` of the glue-lakehouse program under the real Pulumi engine built by
# scripts/build-pulumi-engine.sh, offline, against the glue-lakehouse stand-in for the AWS
# provider (engine/standin-provider: it proves the engine, configuration, program and policy
# wiring, not AWS behaviour).
#
#   bash scripts/pulumi-preview.sh STACK [--stack-config FILE] [extra pulumi preview args]
#   bash scripts/pulumi-preview.sh prod --policy-pack policy --policy-pack-config policy/config.prod.json
#
# --stack-config FILE previews STACK with FILE as its configuration instead of the repo's
# Pulumi.<STACK>.yaml (a modified copy, e.g. for a test of a policy violation).
# Previews are serialized (a lock in .cache/pulumi-engine): they share the stack-init project and
# the config copies, so a second preview waits for the first one.
#
# Everything it writes stays in the git-ignored .cache/pulumi-engine/:
#   home/        PULUMI_HOME (plugins, workspace settings)
#   state/       the file backend holding the stacks
#   config/      Pulumi.<stack>.yaml as the CLI reads it: a copy of the repo's, remade on every run,
#                plus the stack's encryption salt (so the CLI never writes into the repo's file)
#   stack-init/  a scratch project (same name) where `pulumi stack select --create` makes the stack
#   policy-venv/ the policy pack's virtualenv, from policy/requirements.txt (made by build-pulumi-engine.sh)
#   policy-pack/ the executable form of the policy pack (see below)
# `--policy-pack policy` (the repo's pack directory) is replaced by the executable form
# .cache/pulumi-engine/policy-pack/glue-lakehouse-policy, which runs the pack from policy/ with
# policy-venv's python: given the directory, the CLI would create policy/venv inside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mpulumi-preview: %s\033[0m\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ "${1#-}" = "$1" ] ||
  die "usage: bash scripts/pulumi-preview.sh STACK [--stack-config FILE] [extra pulumi preview args]"
STACK=$1
shift
[ -f "Pulumi.$STACK.yaml" ] || die "no Pulumi.$STACK.yaml in $ROOT (stacks: $(ls Pulumi.*.yaml 2>/dev/null | sed -n 's/^Pulumi\.\([^.]*\)\.yaml$/\1/p' | tr '\n' ' '))"
STACK_CONFIG=Pulumi.$STACK.yaml

ENGINE=$ROOT/.cache/pulumi-engine
[ -x "$ENGINE/bin/pulumi" ] && [ -x "$ENGINE/bin/pulumi-language-python" ] ||
  die "the Pulumi engine is not built: run bash scripts/build-pulumi-engine.sh first"
[ -x .venv/bin/python ] || die "no .venv: run bash scripts/setup.sh first"

export PATH="$ROOT/.venv/bin:$ENGINE/bin:$PATH" # the program's venv first: the language host ignores `virtualenv`
export PULUMI_PYTHON_CMD="$ROOT/.venv/bin/python"
export PULUMI_HOME="$ENGINE/home"
export PULUMI_BACKEND_URL="file://$ENGINE/state"
# A fixed test passphrase, not a secret: it only guards the throwaway local state in .cache/.
export PULUMI_CONFIG_PASSPHRASE="glue-lakehouse-local-preview"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true # nothing can be downloaded here: fail clearly instead
mkdir -p "$ENGINE/state" "$ENGINE/config" "$PULUMI_HOME"
command -v flock >/dev/null || die "flock (util-linux) is not on PATH"
exec 9>"$ENGINE/preview.lock"
flock 9 # one preview at a time: they share stack-init/ and config/

# The stack, made in a scratch project of the same name so that the salt the CLI writes on
# creation lands in .cache/ and not in the repo's Pulumi.<stack>.yaml.
INIT=$ENGINE/stack-init
mkdir -p "$INIT"
printf 'name: %s\nruntime: python\n' "$(sed -n 's/^name:[[:space:]]*//p' Pulumi.yaml)" >"$INIT/Pulumi.yaml"
(cd "$INIT" && pulumi stack select --create --non-interactive "$STACK" >/dev/null) ||
  die "pulumi stack select --create $STACK failed (backend $PULUMI_BACKEND_URL)"
salt=$(sed -n 's/^encryptionsalt:[[:space:]]*//p' "$INIT/Pulumi.$STACK.yaml" 2>/dev/null || true)
[ -n "$salt" ] || die "no encryptionsalt in $INIT/Pulumi.$STACK.yaml after creating the stack"

# The policy pack: rewrite `--policy-pack <repo policy dir>` to its executable form, run with the
# pack's venv that scripts/build-pulumi-engine.sh makes from policy/requirements.txt.
POLICY_VENV=$ENGINE/policy-venv
POLICY_EXE=$ENGINE/policy-pack/glue-lakehouse-policy
ensure_policy_pack() {
  [ -f "$POLICY_VENV/.installed-$(sha256sum policy/requirements.txt | cut -c1-16)" ] ||
    die "the policy pack's venv is missing or older than policy/requirements.txt: run bash scripts/build-pulumi-engine.sh"
  mkdir -p "$(dirname "$POLICY_EXE")"
  cat >"$POLICY_EXE" <<EOF
#!/bin/sh
# Executable form of the glue-lakehouse policy pack (made by scripts/pulumi-preview.sh):
# the engine passes its address as \$1.
exec "$POLICY_VENV/bin/python" -u -m pulumi.policy "\$1" "$ROOT/policy"
EOF
  chmod +x "$POLICY_EXE"
  # The CLI reads the pack's name, version and description from a PulumiPolicy.yaml beside the executable.
  ln -sfn "$ROOT/policy/PulumiPolicy.yaml" "$(dirname "$POLICY_EXE")/PulumiPolicy.yaml"
}
args=()
while [ $# -gt 0 ]; do
  arg=$1
  shift
  pack=""
  case $arg in
    --policy-pack) [ $# -gt 0 ] || die "--policy-pack needs a value"; pack=$1; shift ;;
    --policy-pack=*) pack=${arg#--policy-pack=} ;;
    --stack-config | --stack-config=*)
      if [ "$arg" = --stack-config ]; then
        [ $# -gt 0 ] || die "--stack-config needs a file"; STACK_CONFIG=$1; shift
      else
        STACK_CONFIG=${arg#--stack-config=}
      fi
      continue ;;
    *) args+=("$arg"); continue ;;
  esac
  if [ -d "$pack" ] && [ "$(cd "$pack" && pwd -P)" = "$(cd policy && pwd -P)" ]; then
    ensure_policy_pack
    pack=$POLICY_EXE
  fi
  args+=(--policy-pack "$pack")
done

[ -f "$STACK_CONFIG" ] || die "--stack-config: no file $STACK_CONFIG"
CONFIG=$ENGINE/config/Pulumi.$STACK.yaml
{ grep -v '^encryptionsalt:' "$STACK_CONFIG"; printf 'encryptionsalt: %s\n' "$salt"; } >"$CONFIG"

say "pulumi preview --stack $STACK (engine $(pulumi version), stand-in aws provider; state in .cache/pulumi-engine/state)"
status=0
pulumi preview --stack "$STACK" --non-interactive --config-file "$CONFIG" "${args[@]}" || status=$?
[ "$status" -eq 0 ] || die "pulumi preview --stack $STACK failed (exit $status)"
