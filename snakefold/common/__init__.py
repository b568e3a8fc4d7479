"""Shared foundations: residue constants, the Protein container, FASTA intake, atomic writes, errors."""
