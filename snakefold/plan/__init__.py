"""DAG planning without JAX: the validated config and its schemas, the batch, cache keys, resources, and
what each stage must run (MSA searches, model runs, downloads). The Snakefile calls :func:`plan_run`."""
