"""The domain vocabulary shared by integrations, the pipeline and rules: events and keys. Imports nothing else."""
