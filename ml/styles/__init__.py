"""Retouching users for the expanded dataset: presets, classical methods and photographer-like edits."""

from ml.styles.registry import (DATASET_USERS, HELDOUT_RANDOM_USERS, STYLES, TEST_USERS, TRAIN_USERS, Style,
                                get_style, users_json)

__all__ = ["DATASET_USERS", "HELDOUT_RANDOM_USERS", "STYLES", "TEST_USERS", "TRAIN_USERS", "Style", "get_style", "users_json"]
