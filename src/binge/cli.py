"""The ``binge`` command: one thin subcommand per pipeline stage.

Each stage module exposes ``HELP`` (one line), ``DESCRIPTION`` (a paragraph),
``add_arguments(parser)`` and ``run(args) -> int``; this file only wires them together
and holds no logic of its own. Stage modules import their heavy dependencies inside
``run`` so that ``binge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

#: subcommand → module implementing it, in pipeline order.
COMMANDS: dict[str, str] = {
    "world": "binge.world.cli",
    "prepare": "binge.data.cli",
    "check": "binge.data.check_cli",
    "scenes": "binge.data.scenes_cli",
    "pretrain": "binge.train.cli",
    "supervised": "binge.train.supervised_cli",
    "discrepancy": "binge.diagnostics.cli",
    "evaluate": "binge.evaluation.cli",
    "embed": "binge.library.embed_cli",
    "search": "binge.library.search_cli",
    "demo": "binge.demo",
    "config": "binge.config_cli",
}


def _static_help(module_name: str) -> str | None:
    """A command module's ``HELP`` read from its source (no import: ``binge --help`` and a
    config error stay fast, docs/cli.md); None when it is not a plain string there."""
    import ast

    import binge  # the file is found by path: importing binge.x.cli would import binge.x first

    source = Path(binge.__file__).parent.joinpath(*module_name.split(".")[1:]).with_suffix(".py")
    if not module_name.startswith("binge.") or not source.is_file():
        return None
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "HELP" for t in node.targets):
            return node.value.value if isinstance(node.value, ast.Constant) else None
    return None


def invoked_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), or None."""
    return next((a for a in argv if a in COMMANDS), None)


def build_parser(only: str | None = None, lazy: bool = False) -> argparse.ArgumentParser:
    """The ``binge`` parser. With ``lazy``, only the module of command ``only`` is imported (the
    others are listed with their ``HELP`` read from source), so that a call pays for its own
    command's imports only."""
    parser = argparse.ArgumentParser(
        prog="binge",
        description=(
            "Self-supervised audio-visual representation learning from movies and TV "
            "shows. Stages: world → prepare → pretrain → discrepancy → evaluate; "
            "`binge demo` runs them all on the embedded TV world."
        ),
    )
    from binge import __version__
    from binge.cluster import allow_intermixed

    parser.add_argument("--version", action="version", version=f"binge {__version__}")
    parser.add_argument("--import", dest="plugins", action="append", default=[], metavar="MODULE",
                        help="import a plug-in module (or a .py file) that registers encoders "
                             "(register_model) or objectives (register_objective) before the "
                             "command runs; repeatable. Installed packages can instead declare "
                             "the entry-point group binge.plugins")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error, not only its one-line message")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if lazy and name != only:
            text = _static_help(module_name)
            if text is not None:
                sub.add_parser(name, help=text, description=text)
                continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="print the traceback of an error, not only its one-line message")
        allow_intermixed(p)  # section.key=value overrides before or after the options
        p.set_defaults(_module=module)
    return parser


#: error types that mean "the command, its config or its inputs are wrong" (exit 2), by
#: qualified name so that no module is imported to recognise them (docs/cli.md)
USER_ERRORS = frozenset({
    "binge.config.ConfigError", "binge.data.corpus.CorpusError", "binge.locks.LockError",
    "binge.data.corpus.PrepareError", "binge.plugins.PluginError", "binge.cluster.ClusterError",
    "binge.evaluation.runner.EvaluateError", "binge.library.store.LibraryError",
    "binge.world.generate.WorldError", "binge.train.supervised.GroundTruthError",
    "binge.data.datasets.base.DatasetLayoutError", "binge.data.scenes.SceneDetectorUnavailable",
    "binge.train.checkpoint.CheckpointError", "binge.train.export.ExportError",
    "binge.data.packet_index.PacketIndexError",
})
#: exit codes every command follows (docs/cli.md)
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


def is_user_error(err: BaseException | None) -> bool:
    """Whether ``err`` (or the error it wraps) is one of :data:`USER_ERRORS`."""
    while err is not None:
        if isinstance(err, FileNotFoundError) and err.errno is None:
            return True  # raised by binge naming a file the user gave, not by the system
        if any(f"{c.__module__}.{c.__qualname__}" in USER_ERRORS for c in type(err).__mro__):
            return True
        err = err.__cause__
    return False


def is_refusal(err: BaseException) -> bool:
    """Whether ``err`` ends the command as a refusal (exit 2: bad config, inputs, locked
    folder), as :func:`report_error` classifies it; a ``SystemExit`` with a message counts when
    the error it wraps is a user error. Used by the folder lock and the run record to leave no
    trace of a refused command (docs/cli.md)."""
    if isinstance(err, SystemExit):
        return not isinstance(err.code, int) and is_user_error(err.__cause__)
    return is_user_error(err)


def _fault_line(err: OSError) -> str:
    """One line for a fault of the machine (disk full, I/O error, permission) naming the path."""
    paths = [str(p) for p in (err.filename, err.filename2) if p]
    text = err.strerror or str(err)
    where = f": {' -> '.join(paths)}" if paths and paths[0] not in text else ""
    return (f"{text}{where}; everything finished is kept: free the space / fix the cause and "
            "rerun the same command to resume")


def report_error(command: str, err: BaseException, debug: bool = False) -> int:
    """The one place an error ends a command: one line ``binge <command>: <message>`` on stderr
    (the traceback too with ``--debug``) and the exit code of docs/cli.md: 2 for a user error
    (:data:`USER_ERRORS`), 1 for a fault of the machine (``OSError``: the path is named) or a
    failure, 130 for Ctrl-C. A ``SystemExit`` a command raised with its own message keeps it
    (exit 2 when it wraps a user error, else 1)."""
    import traceback

    if debug and not isinstance(err, SystemExit):
        traceback.print_exception(err)
    prefix = f"binge {command}:" if command else "binge:"
    if isinstance(err, KeyboardInterrupt):  # Ctrl-C, or pretrain's TrainingStopped (SIGTERM)
        print(f"{prefix} {str(err) or 'interrupted; rerun the same command to resume'}",
              file=sys.stderr)
        return 130
    if isinstance(err, (FileNotFoundError, NotADirectoryError, IsADirectoryError)) \
            and err.errno is not None:  # a path the user gave that is not there (or not a file)
        print(f"{prefix} {err.strerror}: {err.filename}; check the path you gave", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, SystemExit):
        if debug and err.__cause__ is not None:
            traceback.print_exception(err.__cause__)
        print(err.code, file=sys.stderr)
        return EXIT_USAGE if is_user_error(err.__cause__) else EXIT_FAILURE
    if is_user_error(err):
        print(f"{prefix} {err}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, OSError):
        print(f"{prefix} {_fault_line(err)}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{prefix} failed: {type(err).__name__}: {err} (run with --debug for the traceback)",
          file=sys.stderr)
    return EXIT_FAILURE


class CommandExit(SystemExit):
    """How :func:`main` ends a failed command: ``code`` is the exit code of docs/cli.md (the
    one-line message is already on stderr); ``str()`` is that message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _end(command: str, err: BaseException, debug: bool) -> CommandExit:
    import io
    from contextlib import redirect_stderr

    buffer = io.StringIO()
    with redirect_stderr(buffer):
        code = report_error(command, err, debug)
    text = buffer.getvalue()
    sys.stderr.write(text)
    lines = [line for line in text.splitlines() if line.strip()]
    return CommandExit(code, lines[-1] if lines else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``binge ARGV``; returns the command's exit code, or raises :class:`CommandExit` (a
    ``SystemExit`` carrying the code) after printing the one-line error (docs/cli.md)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(invoked_command(argv), lazy=True)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from binge.plugins import load_plugins

    try:
        load_plugins(args.plugins)
        return int(args._module.run(args) or 0)
    except SystemExit as err:
        if err.code is None or isinstance(err.code, int):
            raise
        raise _end(args.command, err, getattr(args, "debug", False)) from None
    except (Exception, KeyboardInterrupt) as err:
        raise _end(args.command, err, getattr(args, "debug", False)) from None


if __name__ == "__main__":
    sys.exit(main())
