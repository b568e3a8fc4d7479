"""Input data: MSA formats, search-tool wrappers, templates, databases and AlphaFold2's raw features."""
