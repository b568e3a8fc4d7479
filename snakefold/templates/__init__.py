"""Templates: hhsearch hits (.hhr), mmCIF structures, PDB70-style databases, search and featurisation."""
