"""AlphaFold-Multimer v3 (AlphaFold2 v2.3): the complex model, built from the monomer's modules where they agree."""
