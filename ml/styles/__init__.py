"""Retouching users for the expanded dataset: presets, classical methods and photographer-like edits."""

from ml.styles.registry import STYLES, TEST_USERS, TRAIN_USERS, Style, get_style, users_json

__all__ = ["STYLES", "TEST_USERS", "TRAIN_USERS", "Style", "get_style", "users_json"]
