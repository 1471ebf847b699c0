"""Training recipes as TOML files: one table per stage whose keys are that stage's command-line flags.

``cpu.toml`` is the reference model's recipe for the 2-core development machine, ``paper.toml`` the paper's
settings (Sec. 4.1), ``gpu-15min.toml`` a lent GPU's 15 minutes. A recipe is named by its file (any path) or by
the stem of a built-in one (``cpu``). Keys reuse the flags of ``python -m ml train-embedding`` and
``train-pienet`` (``batch_size`` for ``--batch-size``), so the command line stays the one source of truth for
names, types and ranges: :func:`stage_defaults` checks every value with the flag's own parser.
"""

from __future__ import annotations

import argparse
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECIPE_DIR = Path(__file__).resolve().parent
STAGES = ("embedding", "pienet")
STAGE_COMMANDS = {"embedding": "train-embedding", "pienet": "train-pienet"}
NOT_IN_RECIPES = frozenset({"data", "photos", "warm_start", "out", "resume", "embedding", "recipe", "command", "help"})
"""Flags that name where a run reads and writes, not how it trains: they stay on the command line."""


class RecipeError(ValueError):
    """A recipe file that is missing, not TOML, or has unknown tables, keys or values."""


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    description: str
    sha256: str
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stage(self, stage: str) -> dict[str, Any]:
        if stage not in self.stages:
            raise RecipeError(f"recipe {self.name} has no [{stage}] table.")
        return self.stages[stage]


def builtin_recipes() -> list[str]:
    return sorted(path.stem for path in RECIPE_DIR.glob("*.toml"))


def resolve_recipe(name_or_path) -> Path:
    """A file path as given, or a built-in recipe by stem (``cpu`` → ``ml/recipes/cpu.toml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    builtin = RECIPE_DIR / f"{path.stem if path.suffix == '.toml' else path.name}.toml"
    if path.parent == Path(".") and builtin.is_file():
        return builtin
    raise RecipeError(f"no recipe file {name_or_path}; built-in recipes: {', '.join(builtin_recipes())}.")


def load_recipe(name_or_path) -> Recipe:
    """Read and check the structure of a recipe (values are checked per stage by :func:`stage_defaults`)."""
    path = resolve_recipe(name_or_path)
    try:
        raw = path.read_bytes()
        document = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RecipeError(f"recipe {path} is not readable TOML: {error}") from error
    unknown = sorted(set(document) - {"description", *STAGES})
    if unknown:
        raise RecipeError(f"recipe {path}: unknown top-level keys or tables {', '.join(unknown)} "
                          f"(allowed: description, [{'], ['.join(STAGES)}]).")
    description = document.get("description", "")
    if not isinstance(description, str):
        raise RecipeError(f"recipe {path}: description must be a string.")
    stages = {}
    for stage in STAGES:
        if stage not in document:
            continue
        table = document[stage]
        if not isinstance(table, dict):
            raise RecipeError(f"recipe {path}: {stage} must be a table ([{stage}]).")
        nested = [key for key, value in table.items() if isinstance(value, (dict, list))]
        if nested:
            raise RecipeError(f"recipe {path}: [{stage}] {nested[0]} must be a single value.")
        stages[stage] = dict(table)
    if not stages:
        raise RecipeError(f"recipe {path} has neither an [embedding] nor a [pienet] table.")
    return Recipe(name=path.stem, path=path, description=description,
                  sha256=hashlib.sha256(raw).hexdigest(), stages=stages)


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    """The value as the flag would have parsed it from the command line."""
    if action.nargs == 0:  # store_true / store_false
        if not isinstance(value, bool):
            raise RecipeError(f"{where}: expected true or false, got {value!r}.")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecipeError(f"{where}: expected a number or a string, got {value!r}.")
    try:
        converted = action.type(str(value)) if action.type else value
    except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
        raise RecipeError(f"{where}: {error}") from None
    if action.choices is not None and converted not in action.choices:
        raise RecipeError(f"{where}: {converted!r} is not one of {', '.join(map(str, action.choices))}.")
    return converted


def stage_defaults(recipe: Recipe, stage: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The recipe's [stage] values, checked and converted by the options of that stage's ``parser``, as a dict
    for ``parser.set_defaults`` (so flags given explicitly still win)."""
    # argparse has no public list of a parser's options; _actions is where every version keeps them.
    options = {action.dest: action for action in parser._actions
               if action.option_strings and action.dest not in NOT_IN_RECIPES}
    defaults = {}
    for key, value in recipe.stage(stage).items():
        where = f"recipe {recipe.path} [{stage}] {key}"
        if key not in options:
            raise RecipeError(f"{where}: unknown key; allowed: {', '.join(sorted(options))}.")
        defaults[key] = _convert(options[key], value, where)
    return defaults
