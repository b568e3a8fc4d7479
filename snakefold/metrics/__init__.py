"""Structure comparison: RMSD, TM-score, GDT, lDDT and DSSP, with residues paired by sequence."""
