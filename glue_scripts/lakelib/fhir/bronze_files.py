"""Which raw files bronze reads, ignores or quarantines as a whole (pure: names and sizes in,
verdicts out; no Spark, no I/O).

Every file listed under `fhir/` gets one verdict, so files listed = read + ignored + quarantined:
- read: `<ResourceType>[.<part>].ndjson[.gz]` of a resource type the pipeline reads;
- ignored (rules.FILE_REASONS `not_fhir_ndjson`, `resource_type_not_read`): never read, listed with
  the reason in the job's result (and so in the run report) on every run;
- quarantined (`empty_gzip` here; `corrupt_gzip` once lakelib.io.raw_files.check_gzip has tried to
  decompress the file): logged in fhir_ingested_files with the reason, not read.
Details name the file and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Generic, Iterable, Protocol, Sequence, TypeVar

# <ResourceType>.ndjson or <ResourceType>.<part>.ndjson, optionally .gz (brief: FHIR raw files).
# lakelib.io.raw_files.FHIR_FILE_RE is the same rule (a test keeps them equal: io may not import this)
FHIR_FILE_RE = re.compile(r"^(?P<rt>[A-Z][A-Za-z]*)(?:\.(?P<part>[A-Za-z0-9_-]+))?\.ndjson(?:\.gz)?$")
FHIR_FILE_NAME = "<ResourceType>[.<part>].ndjson[.gz]"
EXAMPLES = "e.g. Patient.ndjson, Encounter.0001.ndjson.gz"
GZIP_SUFFIX = ".gz"
_OTHER_COMPRESSION = re.compile(r"\.(bz2|zip|zst|zstd|xz|lz4|lzma|snappy|z|tgz|gzip|7z|br)$", re.IGNORECASE)
_UNFINISHED = re.compile(r"(\.(tmp|temp|part|partial|crdownload|download|swp|bak)|~)$", re.IGNORECASE)


class _File(Protocol):
    source_file: str
    size: int


F = TypeVar("F", bound=_File)


@dataclass(frozen=True)
class FileVerdict:
    action: str  # read | ignored | quarantined
    resource_type: str | None  # the type the name gives (None when ignored)
    reason: str | None = None  # rules.FILE_REASONS; None when read
    detail: str | None = None


@dataclass(frozen=True)
class FilePlan(Generic[F]):
    to_read: list[F]  # resource_type set to the type the name gives
    ignored: list[tuple[F, FileVerdict]]
    quarantined: list[tuple[F, FileVerdict]]


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _name_hint(name: str) -> str:
    """What is wrong with a name that is not FHIR_FILE_NAME, when it is a common slip."""
    if name.startswith((".", "_")):
        return "a hidden or marker file"
    if FHIR_FILE_RE.match(name[:1].upper() + name[1:]):
        return f"the resource type starts upper-case, as FHIR spells it: {name[:1].upper() + name[1:]}"
    lowered = re.sub(r"(?i)\.ndjson(\.gz)?$", lambda m: m.group(0).lower(), name)
    if lowered != name and FHIR_FILE_RE.match(lowered):
        return f"the extension is lower-case: {lowered}"
    if _OTHER_COMPRESSION.search(name):
        return "only gzip (.gz) compression is read"
    if _UNFINISHED.search(name):
        return "a temporary or unfinished upload?"
    if re.search(r"(?i)\.json(\.gz)?$", name):
        return "bulk FHIR is one resource a line, named .ndjson"
    return ""


def classify_file(path: str, size: int, read_types: Sequence[str]) -> FileVerdict:
    """The verdict on one listed file from its path (or name) and size in bytes."""
    name = _basename(path)
    m = FHIR_FILE_RE.match(name)
    if m is None:
        hint = _name_hint(name)
        return FileVerdict("ignored", None, "not_fhir_ndjson",
                           f"{path}: name is not {FHIR_FILE_NAME}{'; ' + hint if hint else ''}; "
                           f"allowed: {FHIR_FILE_NAME}, {EXAMPLES}")
    rt = m.group("rt")
    if rt not in read_types:
        return FileVerdict("ignored", None, "resource_type_not_read",
                           f"{path}: resource type {rt} is not read; allowed: {', '.join(read_types)}")
    if name.endswith(GZIP_SUFFIX) and size == 0:
        return FileVerdict("quarantined", rt, "empty_gzip",
                           f"{path}: 0 bytes, no gzip stream; allowed: a gzip file (RFC 1952), "
                           f"or an uncompressed file named without {GZIP_SUFFIX}")
    return FileVerdict("read", rt)


def corrupt_gzip(path: str, resource_type: str, error: str) -> FileVerdict:
    """The verdict on a .gz file that did not decompress (`error`: what the decompressor said)."""
    return FileVerdict("quarantined", resource_type, "corrupt_gzip",
                       f"{path}: does not decompress: {error}; allowed: a complete gzip stream (RFC 1952)")


def is_gzip(path: str) -> bool:
    return path.endswith(GZIP_SUFFIX)


def plan_files(files: Iterable[F], read_types: Sequence[str]) -> FilePlan[F]:
    """Split listed files (dataclasses with source_file and size) by their verdict, in their order."""
    plan: FilePlan[F] = FilePlan([], [], [])
    for f in files:
        v = classify_file(f.source_file, f.size, read_types)
        if v.action == "read":
            plan.to_read.append(dataclasses.replace(f, resource_type=v.resource_type))
        elif v.action == "ignored":
            plan.ignored.append((f, v))
        else:
            plan.quarantined.append((dataclasses.replace(f, resource_type=v.resource_type), v))
    return plan


def listing(pairs: Iterable[tuple[_File, FileVerdict]]) -> list[dict]:
    """Files and verdicts as the job's result lists them (JSON: the run report)."""
    return [{"source_file": f.source_file, "size": f.size, "reason": v.reason, "detail": v.detail}
            for f, v in pairs]
