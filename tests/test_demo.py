"""`binge demo` end to end on the tiny world (a few steps), and its resumption."""

from __future__ import annotations

import json
import re

import pytest

from binge.cli import main


@pytest.mark.slow
def test_demo_runs_every_stage_then_resumes_without_redoing_any(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--preset", "tiny", "--ks", "1", "4", "--workers", "1",
            "--no-fsdd", "--pretrain-set", "train.max_steps=2",
            "--pretrain-set", "sampling.batch_size=8"]
    assert main(argv) == 0
    first = capsys.readouterr().out

    state = json.loads((out / "demo_state.json").read_text())
    expected = {"world", "prepare", "pretrain-k1", "pretrain-k4", "discrepancy"} | {
        f"evaluate-{enc}-{name}" for enc in ("random", "k1", "k4")
        for name in ("world-action", "world-sound")}
    assert set(state) == expected
    # every stage is printed as the equivalent shell command
    for stage in state.values():
        assert f"[demo] $ {stage['command']}" in first

    table = (out / "results.md").read_text()
    for enc in ("random", "k1", "k4"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {enc} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"\d+\.\d ± \d+\.\d \(\d splits?\)", cells[1]), row  # world-action
        assert re.fullmatch(r"\d+\.\d ± \d+\.\d \(\d splits?\)", cells[2]), row  # world-sound
        kls = cells[3:6]
        if enc == "random":
            assert kls == ["–"] * 3
        else:
            assert all(re.fullmatch(r"-?\d+\.\d{3}", k) for k in kls), row
    assert (out / "runs" / "k4" / "export" / "config.json").is_file()
    assert (out / "discrepancy" / "compare.png").is_file()

    # resumable: a second invocation finds every stage done and redoes nothing
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert second.count("[demo] done already:") == len(expected)
    assert "[demo] $ " not in second
