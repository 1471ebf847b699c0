"""Command line for the dataset tools: ``python -m ml.data {build,unseen-report,prepare-fivek,contact-sheet}``.

Bad arguments and unusable inputs end with a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ml.data.build import BuildError, build_dataset
from ml.data.contact_sheet import render_contact_sheet
from ml.data.fivek import FiveKError, prepare_fivek
from ml.data.photos import PhotoIndexError
from ml.data.unseen import UnseenReportError, format_table, unseen_report
from ml.images import ImageError
from ml.styles import STYLES


def _int_at_least(minimum: int, what: str):
    """An argparse type: a whole number >= ``minimum`` (argparse turns the error into exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be at least {minimum}, got {value}")
        return value
    return parse


_count = _int_at_least(1, "the number")
_size = _int_at_least(16, "the size")


def _existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"folder {text} does not exist")
    return path


def _user_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in STYLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown user(s) {', '.join(unknown) or '(none given)'}; "
                                         f"known: {', '.join(sorted(STYLES))}")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.data", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="render the expanded dataset (inputs + every user) in FiveK layout")
    build.add_argument("--photos", type=_existing_dir, required=True, help="photo root (with manifest.csv)")
    build.add_argument("--out", type=Path, required=True, help="output dataset folder (created; resumable)")
    build.add_argument("--size", type=_size, default=512, help="short side in pixels (default 512)")
    build.add_argument("--workers", type=_count, default=min(2, os.cpu_count() or 1),
                       help="worker processes (default: 2 or the CPU count if smaller)")
    build.add_argument("--limit", type=_count, help="only the first N photos of the index (for trials)")
    build.add_argument("--seed", type=int, default=0, help="seed of the degradations and the scene split")

    report = commands.add_parser("unseen-report", help="PSNR of each test user to its nearest training user")
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=_existing_dir, help="a built dataset (reads its renderings)")
    source.add_argument("--photos", type=_existing_dir, help="a photo root (renders on the fly)")
    report.add_argument("--count", type=_count, default=50, help="number of photos (default 50)")
    report.add_argument("--random-users", type=int, default=300,
                        help="random training users compared besides the named ones (default 300, the v2 recipe)")
    report.add_argument("--size", type=_size, default=512, help="short side when rendering from --photos")
    report.add_argument("--json", type=Path, help="also write the report as JSON to this file")

    fivek = commands.add_parser("prepare-fivek", help="convert Lightroom exports of MIT-Adobe FiveK to the layout")
    fivek.add_argument("--src", type=_existing_dir, required=True,
                       help="folder with input/ and one folder per expert (expertA..E or any names)")
    fivek.add_argument("--out", type=Path, required=True)
    fivek.add_argument("--split", choices=("standard", "a4501"), default="a4501",
                       help="standard: the 4,500/498 list of DPE/3D-LUT/AdaInt given by --test-list; "
                            "a4501: a0001-a4500 train, a4501-a5000 test (default)")
    fivek.add_argument("--test-list", type=Path, help="file listing the test photos (one id or name per line)")
    fivek.add_argument("--train-list", type=Path, help="file listing the training photos (default: all others)")
    fivek.add_argument("--size", type=_size, default=512, help="short side in pixels (480 or 512 usual)")
    fivek.add_argument("--test-users", type=lambda t: [n for n in t.split(",") if n],
                       help="comma-separated unseen users (default: the last user folder, e.g. expertE)")
    fivek.add_argument("--workers", type=_count, default=min(2, os.cpu_count() or 1))

    sheet = commands.add_parser("contact-sheet", help="N photos x all users in one labelled PNG")
    sheet.add_argument("--photos", type=_existing_dir, required=True)
    sheet.add_argument("--out", type=Path, required=True, help="output .png")
    sheet.add_argument("--n", type=_count, default=6, help="number of photos (default 6)")
    sheet.add_argument("--tile", type=_size, default=160, help="tile size in pixels (default 160)")
    sheet.add_argument("--users", type=_user_list, help="comma-separated subset of users (default all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            summary = build_dataset(args.photos, args.out, args.size, args.workers, args.limit, args.seed)
            print(json.dumps(summary, indent=2))
        elif args.command == "unseen-report":
            report = unseen_report(data=args.data, photos=args.photos, count=args.count, size=args.size,
                                   random_users=args.random_users)
            print(format_table(report))
            if args.json:
                args.json.write_text(json.dumps(report, indent=2))
            return 0 if report["ok"] else 1
        elif args.command == "prepare-fivek":
            if args.split == "standard" and not args.test_list:
                parser.error("--split standard needs --test-list (the 498-photo test list of DPE/3D-LUT/AdaInt)")
            summary = prepare_fivek(args.src, args.out, split=args.split, test_list=args.test_list,
                                    train_list=args.train_list, size=args.size, test_users=args.test_users,
                                    workers=args.workers)
            print(json.dumps(summary, indent=2))
        elif args.command == "contact-sheet":
            if args.out.suffix.lower() != ".png":
                parser.error("--out must be a .png file")
            print(render_contact_sheet(args.photos, args.out, args.n, args.tile, args.users))
    except (BuildError, FiveKError, PhotoIndexError, UnseenReportError, ImageError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished files are kept, rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
