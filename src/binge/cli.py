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
from typing import Sequence

#: subcommand → module implementing it, in pipeline order.
COMMANDS: dict[str, str] = {
    "world": "binge.world.cli",
    "prepare": "binge.data.cli",
    "check": "binge.data.check_cli",
    "scenes": "binge.data.scenes_cli",
    "pretrain": "binge.train.cli",
    "supervised": "binge.train.supervised",
    "discrepancy": "binge.diagnostics.cli",
    "evaluate": "binge.evaluation.cli",
    "embed": "binge.library.embed_cli",
    "search": "binge.library.search_cli",
    "demo": "binge.demo",
    "config": "binge.config_cli",
}


def build_parser() -> argparse.ArgumentParser:
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        allow_intermixed(p)  # section.key=value overrides before or after the options
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from binge.plugins import PluginError, load_plugins

    try:
        load_plugins(args.plugins)
    except PluginError as err:
        raise SystemExit(f"binge: {err}") from err
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
