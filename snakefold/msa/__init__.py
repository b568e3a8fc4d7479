"""Multiple sequence alignments: file formats (a3m, Stockholm), species of MSA rows, and AlphaFold2's MSA
features."""
