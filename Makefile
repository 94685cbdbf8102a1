# The two commands at the top of the README. Both set up from nothing first.
.PHONY: setup run test

setup:
	bash scripts/setup.sh

# The main job: generate sample FHIR data and run the whole pipeline on local Spark + Iceberg.
run: setup
	.venv/bin/python -m lakehouse.runner

# Every test: config, components under Pulumi mocks, policy pack, Glue jobs on real Spark.
test: setup
	.venv/bin/python -m pytest
