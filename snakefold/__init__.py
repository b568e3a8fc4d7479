"""snakefold: protein structure prediction on Snakemake."""
