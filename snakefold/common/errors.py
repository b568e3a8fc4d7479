"""The one exception type meant for people.

A :class:`SnakefoldError` carries a complete, human-readable message: which file, record, line or config
key, what is wrong and what to do. The command line prints the message alone (no traceback) and exits
with status 1; the Snakefile does the same when the DAG is built.
"""


class SnakefoldError(Exception):
    """An error whose message is meant to be read by the user, not a developer."""
