"""`stylegan` command line: one subcommand per module in this package (each has add_arguments(parser) and run(args)).

Errors in the user's input are printed as one line and exit with status 2; set STYLEGAN_DEBUG=1 for tracebacks.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import warnings

from ..errors import UserError
from . import convert, dataset, generate, inspect, train
from . import card, directions, edit, mix, project, serve, truncation, video  # serve imports its extra only in run()
from . import metrics as metrics_cmd

# Subcommand name -> module. Order is the order shown in --help.
COMMANDS = {
    "train": train,
    "generate": generate,
    "mix": mix,
    "truncation": truncation,
    "video": video,
    "project": project,
    "directions": directions,
    "edit": edit,
    "card": card,
    "serve": serve,
    "convert": convert,
    "inspect": inspect,
    "metrics": metrics_cmd,
    "dataset": dataset,
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="stylegan", description="The StyleGAN family: train, generate, explore.")
    parser.add_argument("--version", action="version", version=f"stylegan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _parser=p)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line. An unknown option is reported by its subcommand (with that command's usage, and the
    closest option name), not by the top-level parser, whose usage would list only the commands."""
    args, extras = build_parser().parse_known_args(argv)
    if extras:
        sub: argparse.ArgumentParser = args._parser
        known = [o for action in sub._actions for o in action.option_strings if o.startswith("--")]
        hints = [m for e in extras if e.startswith("--")
                 for m in difflib.get_close_matches(e.split("=")[0], known, n=1, cutoff=0.7)]
        hint = f" (did you mean {', '.join(dict.fromkeys(hints))}?)" if hints else ""
        sub.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one `warning: ...` line on stderr (not Python's file:line form) while a command runs."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # Output piped into a reader that has stopped (`| head`): end quietly, as other tools do.
        from ..progress import silence

        silence(sys.stdout)
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe.
    except (UserError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        if os.environ.get("STYLEGAN_DEBUG"):
            raise
        msg = str(e) if isinstance(e, UserError) else f"{getattr(e, 'filename', '') or ''}: {e.strerror or e}"
        print(f"stylegan {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as e:
        from ..models.official import OfficialFormatError
        from ..models.safe_pickle import UnsafePickleError

        if isinstance(e, (OfficialFormatError, UnsafePickleError)) and not os.environ.get("STYLEGAN_DEBUG"):
            print(f"stylegan {args.command}: error: {e}", file=sys.stderr)
            return 2
        raise
