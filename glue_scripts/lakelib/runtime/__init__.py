"""What every job run shares: argument parsing (args), Spark sessions and the entrypoint's main()
(session), and the run itself (job: run id, the write record, reconciliation)."""
