"""Species identifiers of MSA rows, read from UniProt-style names as AlphaFold2 reads them.

AlphaFold2 pairs the rows of different chains' MSAs by species (multimer), and stores each row's species
in ``msa_species_identifiers``. It takes the first whitespace-separated word of a row's description, cuts
it at the first ``/`` (jackhmmer appends ``/start-end``), and accepts only a UniProtKB entry name:

    sp|P0C2L1|A3X1_LOXLA          Swiss-Prot: accession | mnemonic protein code _ species code
    tr|A0A146SKV9|A0A146SKV9_FUNHE   TrEMBL: accession | accession _ species code

The accession is 6 to 10 letters or digits, optionally followed by an isoform suffix ``_<digit>``; the
species code (the result) is 1 to 5 letters or digits; small BFD appends ``_<number>``, which is ignored.
Anything else (UniRef90_..., MGnify MGYP..., a bare accession) has no species: the empty string.
"""

from __future__ import annotations

import re

_UNIPROT_ENTRY = re.compile(
    r"^(?:sp|tr)"
    r"\|[A-Za-z0-9]{6,10}(?:_\d)?"  # accession, optional isoform suffix
    r"\|[A-Za-z0-9]+"  # entry name: mnemonic or accession ...
    r"_(?P<species>[A-Za-z0-9]{1,5})"  # ... underscore, species mnemonic
    r"(?:_\d+)?$"  # small BFD's trailing number
)


def species_id(description: str) -> str:
    """The UniProt species mnemonic of an MSA row's description, or '' when it names none."""
    words = description.split()
    if not words:
        return ""
    match = _UNIPROT_ENTRY.match(words[0].partition("/")[0].strip())
    return match.group("species") if match else ""
