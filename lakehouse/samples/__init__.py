"""Sample-data generators per pipeline and the independent DuckDB reference of the FHIR gold."""
