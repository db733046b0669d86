"""``binge config``: the configs shipped with binge (``list``, ``show NAME``)."""

from __future__ import annotations

import argparse

HELP = "list and show the configs shipped with binge"

DESCRIPTION = """\
The configs shipped with binge (configs/ in a checkout, binge/configs in an installed package).
Any --config takes a shipped name (tiny, eval/fsdd_linear_tiny, paper/table1/tv_k1, or a unique
file name such as tv_k1) as well as a path to a YAML file.

  list          every shipped config name
  show NAME     the file's text, then (--resolved) the full config with every default filled in
  show --config X [section.key=value ...]
                the resolved config: defaults ← X ← overrides, as `binge pretrain` would run it
                (objective options included; with `binge --import M`, a plug-in's too)

examples:
  binge config list
  binge config show tiny
  binge config show paper/table1/tv_k1 --resolved
  binge config show --config configs/tiny.yaml objective.name=infonce sampling.k=4
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every shipped config name")
    show = sub.add_parser("show", help="print a shipped config (a name or a path)")
    show.add_argument("name", metavar="NAME", nargs="?", help="a shipped config name or a YAML path")
    show.add_argument("--resolved", action="store_true",
                      help="print the whole config with the defaults filled in (YAML)")
    show.add_argument("--config", "-c", metavar="YAML",
                      help="print the resolved config of this file (a path or a shipped name)")
    show.add_argument("overrides", nargs="*", metavar="section.key=value",
                      help="overrides applied on top (the resolved config is printed)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from binge.config import ConfigError, find_shipped_config, list_shipped_configs, load_config, to_dict

    if args.config_command == "list":
        names = list_shipped_configs()
        if not names:
            raise SystemExit("binge config: no shipped configs found (a broken install?)")
        print("\n".join(names))
        return 0
    if args.name is not None and "=" in args.name:  # `show --config X a.b=1`: an override
        args.overrides.insert(0, args.name)
        args.name = None
    if args.name is not None and args.config is not None:
        raise SystemExit("binge config show: give NAME or --config, not both")
    try:
        if args.config is not None or args.overrides:
            cfg = load_config(args.config if args.config is not None else args.name, args.overrides)
            print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
            return 0
        if args.name is None:
            raise SystemExit("binge config show: give a config NAME or --config X")
        path = Path(args.name) if Path(args.name).is_file() else find_shipped_config(args.name)
        if args.resolved:
            print(yaml.safe_dump(to_dict(load_config(path)), sort_keys=False), end="")
        else:
            print(f"# {path}")
            print(path.read_text(), end="")
    except ConfigError as err:
        raise SystemExit(f"binge config: {err}") from err
    return 0
