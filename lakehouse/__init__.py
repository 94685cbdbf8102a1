"""glue-lakehouse's Python packages that are never shipped to Glue.

- `lakehouse.model`: the Pulumi-free model the program, the runner and the ops tool share
  (configuration, pipeline declarations, physical names, platform job arguments, IAM documents).
- `lakehouse.runner`: runs the pipelines on local Spark + Iceberg (`python -m lakehouse.runner`).
- `lakehouse.ops`: operates a deployed stack with boto3 (`python -m lakehouse.ops`).
- `lakehouse.offline`: evaluates the Pulumi program under the SDK's mocks, without an engine.
- `lakehouse.samples`: sample-data generators and the independent DuckDB reference of gold.

docs/architecture.md has the diagram and the import rules between them.
"""
