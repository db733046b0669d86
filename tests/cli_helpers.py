"""Helpers shared by tests that call ``binge.cli.main`` in-process (tests/ is on sys.path)."""

from __future__ import annotations


def cli_error(argv, capsys) -> str:
    """The one-line error of a failing ``binge`` call: SystemExit's message, or (where main turns
    errors into an exit status) the stderr of a non-zero return."""
    from binge.cli import main

    capsys.readouterr()  # drop what earlier calls printed
    try:
        code = main(argv)
    except SystemExit as err:
        assert err.code not in (0, None)
        if isinstance(err.code, str):
            return err.code
        code = err.code
    assert code != 0
    return capsys.readouterr().err.strip().splitlines()[-1].split("\r")[-1]  # after progress bars
