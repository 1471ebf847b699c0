"""Two-stage training: metric learning of the preference space (stage 1), then PieNet (stage 2)."""
