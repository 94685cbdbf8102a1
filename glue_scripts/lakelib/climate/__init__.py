"""Climate-health CSV feeds -> PostgreSQL -> per-location daily metrics (docs/climate-pipeline.md)."""
