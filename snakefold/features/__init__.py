"""AlphaFold2's raw feature dict of a target, assembled from its MSA and template features."""
