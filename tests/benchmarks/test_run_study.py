"""benchmarks/reproduction/run_study.py: the study's one command on the tiny world (2 steps per
run), its AVID+CMA chaining from the same seed's Cross-AVID run, resumption, and its table."""

from __future__ import annotations

import json
import statistics

import pytest


def test_summary_is_mean_and_sample_std_over_seeds(study):
    rows = [{"setting": "k1_wM", "seed": s, "world-action": a, "world-sound": 50.0,
             "kl_neg_pos": kl, "kl_diff_pos": 0.2, "kl_neg_diff": 0.3, "gap": 0.1,
             "loss_first": 4.0, "loss_last": 3.0}
            for s, a, kl in [(0, 10.0, 0.1), (1, 20.0, 0.2), (2, 30.0, 0.6)]]
    table = study.summarise(rows).splitlines()
    assert len(table) == 3
    cells = [c.strip() for c in table[2].strip("|").split("|")]
    assert cells[:2] == ["k1_wM", "3"]
    assert cells[2] == f"{20.0:.1f} ± {statistics.stdev([10.0, 20.0, 30.0]):.1f}"
    assert cells[4] == f"{0.3:.3f} ± {statistics.stdev([0.1, 0.2, 0.6]):.3f}"


def test_every_setting_name_is_unique_and_cma_starts_from_a_setting_of_its_group(study):
    names = [name for group in study.SETTINGS.values() for name, _ in group]
    assert len(names) == len(set(names))
    objectives = [name for name, _ in study.SETTINGS["objectives"]]
    for target, source in study.INIT_FROM.items():
        assert objectives.index(source) < objectives.index(target)


@pytest.mark.slow
def test_objectives_group_runs_chains_cma_and_resumes_without_rerunning(tmp_path, capsys, study):
    argv = ["--out", str(tmp_path), "--budget", "tiny100", "--preset", "tiny", "--groups", "floor",
            "objectives", "--seeds", "0",
            "--workers", "1", "--init-step", "1", "--set", "train.max_steps=2",
            "--set", "sampling.batch_size=8", "--set", "train.checkpoint_every_steps=1",
            "--set", "objective.cma.num_positives=4", "--set", "objective.avid.num_negatives=16",
            "--set", "data.num_workers=0", "--set", "train.log_every_steps=1"]
    study.main(argv)
    first = capsys.readouterr().out
    rows = json.loads((tmp_path / "study.json").read_text())
    names = [name for name, _ in study.SETTINGS["objectives"]]
    floor = next(r for r in rows if r["setting"] == study.FLOOR)
    assert floor["kl_neg_pos"] is None and 0.0 <= floor["world-sound"] <= 100.0
    rows = [r for r in rows if r is not floor]
    assert sorted(r["setting"] for r in rows) == sorted(names)
    for row in rows:
        assert 0.0 <= row["world-action"] <= 100.0 and 0.0 <= row["world-sound"] <= 100.0
        assert row["kl_neg_pos"] >= 0.0
        logged = [json.loads(line)["loss"] for line in
                  (tmp_path / "runs" / f"{row['setting']}_s0" / "metrics.jsonl").read_text().splitlines()]
        assert (row["loss_first"], row["loss_last"]) == (logged[0], logged[-1])
    cma_cmd = next(line for line in first.splitlines()
                   if line.startswith("$ binge pretrain") and "avid_cma_s0" in line)
    assert "avid_cross_s0/checkpoints/step_0000001.pt" in cma_cmd
    table = (tmp_path / "study.md").read_text().splitlines()
    assert len(table) == len(names) + 3 and table[2].startswith(f"| {study.FLOOR} | 1 | ")
    assert "—" in table[2]  # no discrepancy without a pretrained checkpoint

    study.main(argv)
    again = capsys.readouterr().out
    for stage in ("pretrain", "discrepancy", "evaluate"):  # their outputs exist: none reruns
        assert f"$ binge {stage}" not in again
    assert [r for r in json.loads((tmp_path / "study.json").read_text())
            if r["setting"] != study.FLOOR] == rows


def test_paired_difference_is_the_mean_of_per_seed_differences_with_a_t_interval(study):
    from scipy.stats import ttest_rel

    a = [61.0, 55.5, 70.25, 64.0, 58.0]
    b = [50.0, 52.0, 61.0, 66.5, 49.0]
    rows = ([{"setting": "k8_wM", "seed": s, "world-action": v} for s, v in enumerate(a)]
            + [{"setting": "k1_wM", "seed": s, "world-action": v} for s, v in enumerate(b)]
            + [{"setting": "k1_wM", "seed": 9, "world-action": 0.0}])  # no k8 partner: ignored
    n, mean, lo, hi, up = study.paired_difference(rows, "k8_wM", "k1_wM", "world-action")
    ci = ttest_rel(a, b).confidence_interval(0.95)
    assert n == 5 and mean == pytest.approx(sum(x - y for x, y in zip(a, b)) / 5)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert up == sum(x > y for x, y in zip(a, b)) == 4
    assert study.paired_difference(rows[:1] + rows[5:6], "k8_wM", "k1_wM", "world-action") is None
    table = study.summarise_paired(rows, [("k8_wM", "k1_wM"), ("k4_wM", "k1_wM")]).splitlines()
    assert len(table) == 3 and table[2].startswith("| k8_wM | k1_wM | 5 | ")
    assert f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}] (4/5 > 0)" in table[2]


@pytest.mark.parametrize("budget", ["micro", "tiny100"])
def test_every_comparison_names_settings_of_its_budget(study, budget):
    spec = study.BUDGETS[budget]
    settings = study.make_settings(spec.big_k)
    names = {name for group in settings.values() for name, _ in group}
    pairs = study.comparisons(settings, spec.big_k)
    assert all(a in names and b in names and a != b for a, b in pairs)
    assert (f"k{spec.big_k}_w{spec.big_k}", f"k{spec.big_k}_wM") in pairs  # w = k vs w = M_n
    assert (f"k{spec.big_k}_wM", "k1_wM") in pairs and ("k1_wM", study.FLOOR) in pairs
    assert spec.pretrain.is_file() and all(cfg.is_file() for _, cfg, _ in spec.evals)


@pytest.mark.slow
def test_parallel_jobs_give_rows_and_paired_table_and_resume(tmp_path, capsys, study):
    argv = ["--out", str(tmp_path), "--preset", "tiny", "--groups", "floor", "k", "--only",
            study.FLOOR, "k1_wM", "k8_wM", "--seeds", "0", "1", "--workers", "1", "--jobs", "2",
            "--set", "train.max_steps=2", "--set", "sampling.batch_size=16",
            "--set", "train.log_every_steps=1", "--eval-set", "evaluate.splits=[1]"]
    study.main(argv)
    first = capsys.readouterr().out
    assert first.count("[study] done:") == 6
    rows = json.loads((tmp_path / "study.json").read_text())
    assert sorted((r["setting"], r["seed"]) for r in rows) == sorted(
        (n, s) for n in (study.FLOOR, "k1_wM", "k8_wM") for s in (0, 1))
    assert sorted(p.name for p in (tmp_path / "rows").iterdir()) == sorted(
        f"{n}_s{s}.json" for n in (study.FLOOR, "k1_wM", "k8_wM") for s in (0, 1))
    text = (tmp_path / "study.md").read_text()
    assert "| k8_wM | k1_wM | 2 | " in text and f"| k1_wM | {study.FLOOR} | 2 | " in text
    study.main(argv)  # every row exists: nothing reruns
    assert "[study]" not in capsys.readouterr().out


def test_unknown_setting_is_refused_before_any_work(tmp_path, study):
    with pytest.raises(SystemExit, match="unknown settings \\['k3_wM'\\]"):
        study.main(["--out", str(tmp_path), "--only", "k3_wM"])
    assert not any(tmp_path.iterdir())
