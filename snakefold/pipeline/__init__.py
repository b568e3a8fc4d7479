"""What the Snakefile needs at DAG-build time: config validation and the batch of targets."""
