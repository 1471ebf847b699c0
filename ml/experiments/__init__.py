"""The paper's experiments at our scale, in one re-runnable command (``python -m ml experiments``): Table 1
(quality of the input, fixed classical methods, non-personalized and personalized PieNet, an oracle vector),
Fig. 6 (unseen users against the number of preferred images, both schemes), Fig. 7 (picture grid) and Fig. 8
(t-SNE of the embedding space), with the issue's targets checked from the numbers.

``replication`` makes and checks the shipped checkpoint's card (``python -m ml card``).
"""

from ml.experiments.protocol import ExperimentSettings
from ml.experiments.run import run_experiments

__all__ = ["ExperimentSettings", "run_experiments"]
