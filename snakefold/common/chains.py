"""Chain identifiers of a complex, as AlphaFold2 assigns them.

AlphaFold2 names the chains of a complex in input order with the 62 single-character PDB chain IDs
``A``-``Z``, ``a``-``z``, ``0``-``9``; a complex therefore holds at most 62 chains.
"""

from __future__ import annotations

import string

from snakefold.common.errors import SnakefoldError

PDB_CHAIN_IDS = string.ascii_uppercase + string.ascii_lowercase + string.digits
MAX_CHAINS = len(PDB_CHAIN_IDS)


def chain_ids(count: int) -> list[str]:
    """The IDs of a complex's ``count`` chains in input order: ``A``, ``B``, ..."""
    if not 1 <= count <= MAX_CHAINS:
        raise SnakefoldError(f"a complex holds 1 to {MAX_CHAINS} chains (one per PDB chain ID), not {count}")
    return list(PDB_CHAIN_IDS[:count])
