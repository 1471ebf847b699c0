"""Dataset tools: the expanded dataset builder, real FiveK conversion, checks and contact sheets.

Commands: ``python -m ml.data --help``; the data model is described in ``ml/data/README.md``.
"""
