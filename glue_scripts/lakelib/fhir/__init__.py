"""FHIR R4 bulk NDJSON -> bronze -> silver -> gold (docs/fhir-data-model.md, docs/metrics.md)."""
