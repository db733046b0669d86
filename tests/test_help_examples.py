"""Every example command in every ``binge ... --help`` and in the README goes through binge's
argument parser, and every ``configs/...`` file the help texts and examples name exists (or is a
shipped config). A help text that names a moved config or a renamed flag fails here."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from binge.cli import COMMANDS, build_parser
from binge.config import ConfigError, find_shipped_config

REPO = Path(__file__).resolve().parents[1]
CONFIG_MENTION = re.compile(r"configs/[\w./*-]+\.yaml")


def _commands(text: str) -> list[str]:
    """``binge ...`` / ``torchrun ... -m binge ...`` command lines of a text, continuations joined."""
    out, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if current is not None:
            current += " " + line
        elif re.match(r"^(binge|torchrun)\s", line):
            current = line
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        out.append(current)
        current = None
    return out


def _argv(command: str) -> list[str]:
    words = shlex.split(command, comments=True)
    if words[0] == "torchrun":
        words = words[words.index("binge"):]  # torchrun ... -m binge ARGS
    assert words[0] == "binge", command
    return words[1:]


def _subparsers(parser: argparse.ArgumentParser):
    """(name, parser) of every (nested) subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, subsub in _subparsers(sub):
                    yield f"{name} {inner}", subsub


def _help_texts() -> dict[str, str]:
    parser = build_parser()
    texts = {"binge": parser.format_help()}
    texts.update({f"binge {name}": sub.format_help() for name, sub in _subparsers(parser)})
    return texts


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S)
    return [c for block in blocks for c in _commands(block)]


HELP = _help_texts()
EXAMPLES = sorted({(where, c) for where, text in HELP.items() for c in _commands(text)})


def _parse(command: str) -> argparse.Namespace:
    try:
        return build_parser().parse_args(_argv(command))
    except SystemExit as err:  # argparse's error exit
        pytest.fail(f"`{command}` does not parse (exit {err.code})")


def _config_exists(mention: str) -> bool:
    if "*" in mention:
        return any(REPO.glob(mention))
    if (REPO / mention).is_file():
        return True
    try:
        find_shipped_config(mention)
    except ConfigError:
        return False
    return True


def test_every_command_has_examples_in_its_help():
    missing = [name for name in COMMANDS if not any(w == f"binge {name}" for w, _ in EXAMPLES)]
    assert not missing, f"no example in the --help of {missing}"


def _check_config(args: argparse.Namespace, command: str) -> None:
    """The example's --config and section.key=value overrides load (types, ranges, relations)."""
    from binge.cluster import split_overrides
    from binge.config import load_config

    items = list(getattr(args, "overrides", None) or [])
    if args.command == "prepare":
        items = [*items, *split_overrides(args.sources)[1]]
    if not items and not isinstance(getattr(args, "config", None), str):
        return
    try:
        load_config(getattr(args, "config", None), items)
    except ConfigError as err:
        pytest.fail(f"`{command}`: its config does not load: {err}")


@pytest.mark.parametrize("where, command", EXAMPLES, ids=[f"{w}: {c[:60]}" for w, c in EXAMPLES])
def test_help_example_parses(where, command):
    args = _parse(command)
    assert args.command == where.split()[1] if where != "binge" else True
    _check_config(args, command)


@pytest.mark.parametrize("command", _readme_commands())
def test_readme_command_parses(command):
    _check_config(_parse(command), command)


@pytest.mark.parametrize("where", sorted(HELP))
def test_help_names_real_config_files(where):
    mentions = set(CONFIG_MENTION.findall(HELP[where]))
    absent = sorted(m for m in mentions if not _config_exists(m))
    assert not absent, f"`{where} --help` names config files that do not exist: {absent}"


def test_readme_names_real_config_files():
    text = (REPO / "README.md").read_text()
    absent = sorted(m for m in set(CONFIG_MENTION.findall(text)) if not _config_exists(m))
    assert not absent, f"README.md names config files that do not exist: {absent}"


def test_the_walk_catches_a_wrong_config_name():
    """The check above is not vacuous: the name the issue found in `binge pretrain --help`."""
    assert not _config_exists("configs/paper/tv_k1.yaml")
    assert _config_exists("configs/paper/table1/tv_k1.yaml")


def test_the_walk_catches_an_override_that_does_not_load():
    with pytest.raises(pytest.fail.Exception, match="its config does not load"):
        _check_config(_parse("binge pretrain --config configs/tiny.yaml sampling.k=abc"), "example")
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        _parse("binge pretrain --no-such-flag")


def _docs_commands() -> list[tuple[str, str]]:
    """(doc, command) of every ``binge ...`` line in a code block of docs/*.md."""
    found = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", doc.read_text(), flags=re.S)
        found += [(doc.name, c) for block in blocks for c in _commands(block)]
    return found


def test_docs_use_one_override_syntax():
    """No doc example uses prepare's deprecated ``--set`` (plain section.key=value everywhere)."""
    deprecated = [f"{doc}: {c}" for doc, c in _docs_commands() if "--set" in shlex.split(c, comments=True)]
    assert not deprecated, deprecated


@pytest.mark.parametrize("command", [c for doc, c in _docs_commands() if doc == "data.md"])
def test_data_doc_command_parses(command):
    _check_config(_parse(command), command)
