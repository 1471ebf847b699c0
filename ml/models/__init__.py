"""The two networks of PieNet: the preference embedding (Sec. 3.1) and the enhancer (Sec. 3.2)."""

from ml.models.backbone import ModelInitError
from ml.models.embedding import EmbeddingNet
from ml.models.pienet import PieNet, PersonalizedUpsampleBlock

__all__ = ["EmbeddingNet", "ModelInitError", "PieNet", "PersonalizedUpsampleBlock"]
