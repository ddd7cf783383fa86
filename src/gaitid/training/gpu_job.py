"""The prepared GPU job of the silhouette model (issue 15): a recipe chosen on validation identities, then
trained on every training subject, in one call of a lent GPU.

    python -m gaitid.training.gpu_job pack                 # here: CASIA-B 001-074 into .gpu/data (ignored)
    python -m gaitid.training.gpu_job run --out "$OUT"     # there, with PYTHONPATH=src and GAITID_DATA=.gpu/data

`run`, within `--budget` seconds:
1. every arm of ARMS (version 5's recipe and its variants) trains on subjects 013-074 at the same time, for
   `--validation` seconds each, one process per arm on the one GPU;
2. each arm's last checkpoint is scored on `casia-b-val` (the standard protocol on 001-012);
3. `choose_arm` picks one by the rule written in benchmarks/GAIT_RESULTS.md before any run;
4. the chosen arm trains on 001-074 in the time left (its cosine schedule follows that budget);
5. OUT receives its last checkpoint (final_last.pt), each arm's (val_ARM.pt), job.json (scores, choice,
   timings), job.log and logs.tar.gz: 8 files at most, as the GPU machine returns.
Export, cohort and the one score on the test subjects follow on the CPU (DEVELOPERS.md, "The GPU machine").

Only torch, numpy and gaitid's training and evaluation modules are imported, which the GPU machine's image
has; nothing of the pipeline (its video and pose runtimes are not there).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaitid.errors import GaitidError

BASE_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "gait" / "gaitset_strips_s_gpu.yaml"
VALIDATION_TRAIN_SUBJECTS = "013-074"
FINAL_SUBJECTS = "001-074"
PACK_DIR = Path(".gpu/data")
MIN_FINAL_SECONDS = 60.0
#: casia-b-val mean of version 5's recipe trained on 013-074 (frames20 at 1200 CPU steps, GAIT_RESULTS.md),
#: and what the chosen arm must add to it for its final run to ship.
VERSION5_VALIDATION_MEAN = 85.74
SHIP_MARGIN = 1.0


@dataclass(frozen=True)
class Arm:
    """A variant of the base recipe: its `--set` overrides, and the validation mean it must gain over version
    5's recipe ("base") to be chosen (more for an arm that costs more at inference)."""

    overrides: dict[str, Any]
    margin: float


ARMS: dict[str, Arm] = {
    "base": Arm({}, 0.0),
    # twice the identities per batch: more negatives for the triplet loss; no cost at inference
    "batch16": Arm({"sampler.p": 16}, 0.5),
    # 1.25x the channels: 1.7x the CPU cost per frame (benchmarks/GAIT_RESULTS.md, the rule)
    "wide40": Arm({"model.widths": [40, 80, 160]}, 1.0),
}


def choose_arm(val_means: dict[str, float], arms: dict[str, Arm] = ARMS) -> str:
    """The rule: "base" unless other arms beat its validation mean by their margin; of those that do, the
    one with the highest mean (ties: the first in `arms`). An arm missing from `val_means` (it failed) is
    out; without "base", the highest mean among the others wins."""
    base = val_means.get("base")
    candidates = [name for name in arms if name in val_means
                  and (base is None or name == "base" or val_means[name] >= base + arms[name].margin)]
    if not candidates:
        raise GaitidError("no arm was scored: nothing to choose")
    return max(candidates, key=lambda name: (val_means[name], -list(arms).index(name)))


def arm_overrides(arm: Arm, subjects: str, seconds: float, device: str, out_dir: Path) -> list[str]:
    """The `--set` list of one training process."""
    values: dict[str, Any] = {**arm.overrides, "data.subjects": subjects, "schedule.max_seconds": round(seconds, 1),
                              "trainer.device": device, "trainer.out_dir": str(out_dir)}
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]


# ------------------------------------------------------------------------------------ the job's steps


def _start(name: str, arguments: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """One of this module's subcommands (train, score) in its own process, its output in `log_path`."""
    print(f"[{name}] {' '.join(arguments)}", flush=True)
    command = [sys.executable, "-m", "gaitid.training.gpu_job", *arguments]
    return subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def _start_training(name: str, overrides: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    settings = [part for item in overrides for part in ("--set", item)]
    return _start(name, ["train", "--config", str(BASE_CONFIG), *settings], log_path)


def _wait(processes: dict[str, subprocess.Popen[bytes]], deadline: float) -> dict[str, int]:
    codes = {}
    for name, process in processes.items():
        try:
            codes[name] = process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            process.kill()
            codes[name] = process.wait()
        print(f"[{name}] exit {codes[name]}", flush=True)
    return codes


def _start_scoring(name: str, run_dir: Path, device: str, subjects: str | None, json_path: Path,
                   log_path: Path) -> subprocess.Popen[bytes]:
    only = ["--subjects", subjects] if subjects else []
    return _start(name, ["score", str(run_dir / "last.pt"), "--device", device, "--json", str(json_path), *only],
                  log_path)


def score(checkpoint: Path, device: str, subjects: str | None = None) -> dict[str, Any]:
    """The `casia-b-val` report of a training checkpoint (all its subjects, or `subjects`)."""
    from gaitid.evaluation.crossview import evaluate_cross_view, make_embedder, refuse_seen_subjects
    from gaitid.evaluation.protocols import PROTOCOLS
    from gaitid.training.config import parse_subjects

    chosen = tuple(parse_subjects(subjects)) if subjects else None
    refuse_seen_subjects(checkpoint, chosen or PROTOCOLS["casia-b-val"].subjects)
    embed, name = make_embedder(checkpoint, threads=2, device=device)
    return evaluate_cross_view(PROTOCOLS["casia-b-val"], embed, name, subjects=chosen, progress=False)


def validation_mean(result: dict[str, Any]) -> float:
    """The mean of NM, BG and CL rank-1 of a cross-view report."""
    return round(sum(float(result["rank1"][c]) for c in ("NM", "BG", "CL")) / 3, 2)


def _validation_means(work: Path, names: list[str]) -> dict[str, float]:
    means = {}
    for name in names:
        path = work / f"val_{name}.json"
        if path.is_file():
            means[name] = validation_mean(json.loads(path.read_text()))
        else:
            print(f"[{name}] not scored (see val_{name}.score.log)", flush=True)
    return means


def run_job(out: Path, work: Path, budget: float, validation: float, device: str,
            score_subjects: str | None = None, arms: dict[str, Arm] = ARMS) -> dict[str, Any]:
    """The whole job (see the module's docstring); returns what job.json holds."""
    started = time.monotonic()
    deadline = started + budget
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    job: dict[str, Any] = {"budget_s": budget, "validation_s": validation, "device": device,
                           "arms": {name: arm.overrides for name, arm in arms.items()}}
    processes = {name: _start_training(name, arm_overrides(arm, VALIDATION_TRAIN_SUBJECTS, validation, device,
                                                           work / f"val_{name}"), work / f"val_{name}.log")
                 for name, arm in arms.items()}
    codes = _wait(processes, started + validation + 120)
    trained = [name for name, code in codes.items() if code == 0]
    scoring = {name: _start_scoring(name, work / f"val_{name}", device, score_subjects, work / f"val_{name}.json",
                                    work / f"val_{name}.score.log") for name in trained}
    _wait(scoring, time.monotonic() + 180)
    means = _validation_means(work, trained)
    for name in trained:  # for the measures that need the CPU's pipeline data (casia-b-rgb), afterwards
        shutil.copy(work / f"val_{name}" / "last.pt", out / f"val_{name}.pt")
    job["validation"] = {"means": means, "exit_codes": codes, "seconds": round(time.monotonic() - started, 1)}
    chosen = choose_arm(means, arms)
    job["chosen"] = chosen
    print(f"validation means {means}; chosen: {chosen}", flush=True)
    (out / "job.json").write_text(json.dumps(job, indent=1))
    left = deadline - time.monotonic() - 30.0  # data loading, start-up and the copy to OUT
    if left < MIN_FINAL_SECONDS:
        raise GaitidError(f"{left:.0f} s left for the final run after validation (at least {MIN_FINAL_SECONDS:.0f}"
                          " needed): give the job a larger --budget or a smaller --validation")
    final_dir = work / "final"
    process = _start_training("final", arm_overrides(arms[chosen], FINAL_SUBJECTS, left, device, final_dir),
                              work / "final.log")
    job["final"] = {"exit_code": _wait({"final": process}, deadline + 60)["final"], "seconds_budget": round(left, 1)}
    job["seconds"] = round(time.monotonic() - started, 1)
    if (final_dir / "last.pt").is_file():
        shutil.copy(final_dir / "last.pt", out / "final_last.pt")
    (out / "job.json").write_text(json.dumps(job, indent=1))
    _pack_logs(work, out / "logs.tar.gz")
    return job


def verdict(job: dict[str, Any]) -> tuple[bool, str]:
    """What the rule says of a finished job (its job.json): whether its final checkpoint ships as the next
    version, and why, in one line."""
    chosen, means = job.get("chosen"), job.get("validation", {}).get("means", {})
    if chosen not in means:
        return False, "the job chose no arm: version 5 stays"
    if job.get("final", {}).get("exit_code") != 0:
        return False, f"the final run of {chosen!r} did not finish: version 5 stays"
    bar = VERSION5_VALIDATION_MEAN + SHIP_MARGIN
    mean = float(means[chosen])
    if mean < bar:
        return False, f"{chosen!r} scored {mean:.2f} on casia-b-val, under {bar:.2f}: version 5 stays"
    return True, f"{chosen!r} scored {mean:.2f} on casia-b-val (at least {bar:.2f}): final_last.pt ships"


def _pack_logs(work: Path, path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for item in sorted(work.rglob("*")):
            if item.is_file() and item.suffix in (".log", ".json", ".jsonl"):
                tar.add(item, arcname=str(item.relative_to(work)))


def pack(source: Path, target: Path = PACK_DIR) -> Path:
    """Copy CASIA-B's training subjects (001-074, the dataset's own files) to target/casia-b: what the job
    reads on the GPU machine (GAITID_DATA=target)."""
    folder = target / "casia-b"
    folder.mkdir(parents=True, exist_ok=True)
    for subject in range(1, 75):
        name = f"{subject:03d}.npz"
        if not (source / name).is_file():
            raise GaitidError(f"CASIA-B subject file not found: {source / name}")
        shutil.copy(source / name, folder / name)
    return folder


# ------------------------------------------------------------------------------------ command line


def _train_command(args: argparse.Namespace) -> None:
    from gaitid.training.config import load_config, parse_overrides
    from gaitid.training.trainer import train

    summary = train(load_config(args.config, parse_overrides(args.set)), log=lambda line: print(line, flush=True))
    print(json.dumps(summary), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaitid.training.gpu_job", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="copy CASIA-B 001-074 to .gpu/data/casia-b for the GPU machine")
    p.add_argument("--source", help="the CASIA-B folder (default: the shared data's casia-b)")
    p = sub.add_parser("run", help="the job: validation arms, the rule, the final run")
    p.add_argument("--out", required=True, help="where the results go ($OUT on the GPU machine)")
    p.add_argument("--work", default="/tmp/gaitid_gpu_job", help="the runs' folder")
    p.add_argument("--budget", type=float, default=480.0, help="seconds for the whole job (default 480)")
    p.add_argument("--validation", type=float, default=150.0, help="seconds of training per arm (default 150)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run here")
    p.add_argument("--score-subjects", help="score the arms on these validation subjects only (a dry run)")
    p = sub.add_parser("verdict", help="after the job: does its final checkpoint ship (the rule)?")
    p.add_argument("results", help="the folder the job's files came back to")
    p = sub.add_parser("score", help="one arm's casia-b-val report (what run starts per arm)")
    p.add_argument("checkpoint")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--json", required=True)
    p.add_argument("--subjects")
    p = sub.add_parser("train", help="one training process (what run starts per arm)")
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            from gaitid.datasets.paths import data_root

            print(pack(Path(args.source) if args.source else data_root() / "casia-b"))
        elif args.command == "run":
            job = run_job(Path(args.out), Path(args.work), args.budget, args.validation, args.device,
                          args.score_subjects)
            print(json.dumps(job), flush=True)
            return 0 if job["final"]["exit_code"] == 0 else 1
        elif args.command == "verdict":
            path = Path(args.results) / "job.json"
            if not path.is_file():
                raise GaitidError(f"{path} not found: give the folder the GPU job's files came back to")
            ships, reason = verdict(json.loads(path.read_text()))
            print(reason)
            return 0 if ships else 1
        elif args.command == "score":
            result = score(Path(args.checkpoint), args.device, args.subjects)
            Path(args.json).write_text(json.dumps(result, indent=1))
            print(f"{result['model']}: {result['rank1']}", flush=True)
        else:
            _train_command(args)
    except GaitidError as error:
        print(f"gpu_job: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
