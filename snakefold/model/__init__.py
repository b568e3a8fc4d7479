"""The AlphaFold2-compatible model in JAX and Haiku: configuration, modules, parameters and feature processing."""
