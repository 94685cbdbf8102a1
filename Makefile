# The two commands at the top of the README. Both set up from nothing first.
.PHONY: setup engine run test

setup:
	bash scripts/setup.sh

# The real Pulumi engine for offline previews (CLI, Python language host, the stand-in AWS provider,
# the policy pack's venv) into .cache/pulumi-engine: about 45 s with Go's caches warm, 10-16 min cold.
engine: setup
	bash scripts/build-pulumi-engine.sh

# The main job: generate sample FHIR data and run the whole pipeline on local Spark + Iceberg.
run: setup
	.venv/bin/python -m lakehouse.runner

# The lint (ruff: line length, import order, unused names), then every test: the architecture rules,
# the model, components under Pulumi mocks and the real engine, the policy pack, Glue jobs on real Spark.
# scripts/test.sh builds the engine (make engine) in the background while the other tests run.
test: setup
	bash scripts/test.sh
