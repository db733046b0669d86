"""`binge demo` end to end on the tiny world (a few steps), and its resumption."""

from __future__ import annotations

import json
import re

import pytest

from binge.cli import main

CELL = r"\d+\.\d ± \d+\.\d \(\d splits?\)"


@pytest.mark.slow
def test_demo_runs_every_stage_then_resumes_without_redoing_any(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--preset", "tiny", "--workers", "1", "--jobs", "2",
            "--no-fsdd", "--pretrain-set", "train.max_steps=4",
            "--pretrain-set", "sampling.batch_size=8", "--pretrain-set", "discrepancy.every_steps=2",
            "--pretrain-set", "train.checkpoint_every_steps=2", "--pretrain-set", "train.log_every_steps=2"]
    assert main(argv) == 0
    first = capsys.readouterr().out

    state = json.loads((out / "demo_state.json").read_text())
    runs = ("k1", "k8", "k8_w8")
    expected = {"world", "prepare", "supervised-ceiling"} | {f"pretrain-{r}" for r in runs} | {
        f"evaluate-{enc}-{name}" for enc in ("random", *runs, "ceiling")
        for name in ("world-action", "world-sound")}
    assert set(state) == expected
    for stage in state.values():  # every stage is printed as the equivalent shell command
        assert f"[demo] $ {stage['command']}" in first
        assert stage["seconds"] > 0
    assert all(state[f"pretrain-{r}"]["cpu_seconds"] > 0 for r in runs)

    table = (out / "results.md").read_text()
    labels = {"random": "random init", "k1": "k = 1", "k8": "k = 8 (w = M_n)",
              "k8_w8": "k = 8, w = k", "ceiling": "supervised ceiling"}
    for enc, label in labels.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(CELL, cells[1]) and re.fullmatch(CELL, cells[2]), row
        kls = cells[3:6]
        if enc in ("random", "ceiling"):
            assert kls == ["–"] * 3
        else:
            assert all(re.fullmatch(r"-?\d+\.\d{3}", k) for k in kls), row
    curve = [json.loads(line) for line in (out / "runs" / "k8" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in curve if "probe/world-action" in r] == [2, 4]
    assert (out / "curves.png").stat().st_size > 0
    assert (out / "runs" / "ceiling" / "export" / "config.json").is_file()

    # resumable: a second invocation finds every stage done and redoes nothing
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert second.count("[demo] done already:") == len(expected)
    assert "[demo] $ " not in second
