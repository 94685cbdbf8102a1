"""Run the pipelines on local Spark + Iceberg, as the Glue workflow would (`python -m lakehouse.runner`)."""
