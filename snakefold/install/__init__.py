"""Installing parameter sets and databases: the catalog and manifest, downloads, unpacking, integrity checks."""
