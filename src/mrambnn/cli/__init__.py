"""Command-line interface: thin subcommands over the library (`mrambnn.cli.commands`),
parsed by `mrambnn.cli.parser`.

Each subcommand loads its inputs, calls one library function and writes one file (or
folder). Errors in the input are reported in one line with a non-zero exit status.
"""

import sys
from collections.abc import Sequence

from mrambnn.cli.parser import build_parser
from mrambnn.datasets import DataError
from mrambnn.engine import ModelFileError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mrambnn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError, DataError, ModelFileError) as error:
        print(f"mrambnn: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. head)
        return 0
    except (OSError, MemoryError) as error:  # unwritable folder, full disk, ...
        print(f"mrambnn: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mrambnn: interrupted; finished results are saved, run again to resume",
              file=sys.stderr)
        return 130
    return 0
