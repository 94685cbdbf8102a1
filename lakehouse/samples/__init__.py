"""Sample-data generators per pipeline and the independent DuckDB references of the FHIR and orders gold.

`SAMPLE_WRITERS` maps a pipeline name to its bundled sample (what `python -m lakehouse.runner`
runs on when no --input is given); `sample_writer(name)` looks one up and names the available
pipelines when there is none. The generators are imported only when a sample is written, so
`python -m lakehouse.samples.fhir` and friends run without this package preloading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SAMPLE_PATIENTS = 300  # the FHIR sample: patients of batch 1, seed 0


@dataclass(frozen=True)
class SampleWriter:
    """`announce(out)`: the line saying what is written where; `write(out)`: writes it under `out`."""

    announce: Callable[[Path], str]
    write: Callable[[Path], object]


def _write_fhir(out: Path) -> object:
    from .fhir import write_batch

    return write_batch(out, SAMPLE_PATIENTS, seed=0)


def _write_climate(out: Path) -> object:
    from .climate import write_sample

    return write_sample(out)


def _write_orders(out: Path) -> object:
    from .orders import write_sample

    return write_sample(out)


SAMPLE_WRITERS: dict[str, SampleWriter] = {
    "fhir": SampleWriter(
        lambda out: f"generating sample data: {SAMPLE_PATIENTS} patients -> {out}/fhir/batch-0001/", _write_fhir),
    "climate": SampleWriter(lambda out: f"generating sample data -> {out}/climate/", _write_climate),
    "orders": SampleWriter(lambda out: f"generating sample data: orders batches 1 and 2 (a schema change between "
                                       f"them) -> {out}/orders/", _write_orders),
}


def sample_writer(pipeline: str) -> SampleWriter:
    """The sample writer of `pipeline`; LookupError listing the pipelines that have one."""
    try:
        return SAMPLE_WRITERS[pipeline]
    except KeyError:
        raise LookupError(f"no sample data for pipeline {pipeline!r}; available: "
                          f"{', '.join(sorted(SAMPLE_WRITERS))}") from None
