"""How every benchmark hands over its result: one JSON object on stdout and, with ``--out``, in a file."""

import json
from pathlib import Path


def print_and_save(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
