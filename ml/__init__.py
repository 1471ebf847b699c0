"""PieNet (Kim et al., ECCV 2020) in pure PyTorch: models, losses, data, training, inference, metrics.

Public entry points: :mod:`ml.config` (ModelConfig), :mod:`ml.checkpoint` (save/load), :mod:`ml.inference`
(Enhancer), :mod:`ml.personalize` (new users' vectors, blending), :mod:`ml.metrics`, and ``python -m ml``.
No Django imports anywhere in this package.
"""
