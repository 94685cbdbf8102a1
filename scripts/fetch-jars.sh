#!/usr/bin/env bash
# Fetch the JVM jars local Spark needs into .cache/jars/ (Maven Central, via `mvn dependency:copy`).
# Idempotent: a jar already present is not fetched again. Versions match AWS Glue 5.0
# (Iceberg 1.7.1 for Spark 3.5 / Scala 2.12) plus the PostgreSQL JDBC driver, and Iceberg's AWS
# bundle (AWS SDK v2 for GlueCatalog and S3FileIO, as Glue provides them) at the same Iceberg
# version, which tests/runner/test_fhir_on_moto.py runs against moto's Glue and S3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${JARS_DIR:-$ROOT/.cache/jars}"
ARTIFACTS=(
  "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.7.1"
  "org.postgresql:postgresql:42.7.14"
  "org.apache.iceberg:iceberg-aws-bundle:1.7.1"
)

mkdir -p "$DEST"
for coord in "${ARTIFACTS[@]}"; do
  IFS=: read -r group artifact version <<<"$coord"
  jar="$DEST/$artifact-$version.jar"
  if [[ -s "$jar" ]]; then
    continue
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "fetch-jars.sh: mvn not found; install Maven (apt-get install maven) to fetch $coord" >&2
    exit 1
  fi
  echo "fetch-jars.sh: fetching $coord"
  mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$coord" -DoutputDirectory="$DEST" -Dmdep.overWriteReleases=false
  if [[ ! -s "$jar" ]]; then
    echo "fetch-jars.sh: $coord was not copied to $jar" >&2
    exit 1
  fi
done
