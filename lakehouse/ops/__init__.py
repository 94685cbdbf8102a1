"""Operate a deployed stack with boto3: upload, start, watch, runs, verify (`python -m lakehouse.ops`)."""
