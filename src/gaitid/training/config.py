"""Training experiments as data: a YAML or TOML file with sections data, model, loss, sampler, optimizer,
schedule and trainer. Every key is checked: an unknown key or section is an error, never ignored.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitid.errors import GaitidError


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "casia-b"
    root: str | None = None  # default: $GAITID_DATA/casia-b or ../shared/data/casia-b
    subjects: str = "001-074"  # "first-last"; test subjects are refused
    frames: int = 12  # frames per training sequence
    frame_sampling: str = "random"  # "random" (set models) or "contiguous" (recurrent models)


@dataclass(frozen=True)
class LossConfig:
    triplet_margin: float = 0.2
    triplet_weight: float = 1.0
    ce_weight: float = 0.1
    label_smoothing: float = 0.1


@dataclass(frozen=True)
class SamplerConfig:
    p: int = 8
    k: int = 8


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "adam"  # "adam", "adamw" or "sgd"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd only


@dataclass(frozen=True)
class ScheduleConfig:
    steps: int = 2000
    kind: str = "cosine"  # "cosine", "constant" or "multistep"
    warmup: int = 50
    milestones: tuple[int, ...] = ()  # multistep only
    gamma: float = 0.1  # multistep only


@dataclass(frozen=True)
class TrainerConfig:
    out_dir: str = "runs/gait"
    checkpoint_every: int = 200
    log_every: int = 10
    threads: int = 1
    progress: bool = True


@dataclass(frozen=True)
class TrainConfig:
    model: dict[str, Any]  # {"name": registered model, **settings of its config}
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "data": DataConfig,
    "loss": LossConfig,
    "sampler": SamplerConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
    "trainer": TrainerConfig,
}


def _build_section(name: str, cls: type, values: Any) -> Any:
    if not isinstance(values, dict):
        raise GaitidError(f"config section [{name}] must be a table of settings")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise GaitidError(f"unknown key(s) {unknown} in config section [{name}]; known: {sorted(known)}")
    kwargs = {}
    for key, value in values.items():
        if key == "milestones":
            value = tuple(int(v) for v in value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Build and check a TrainConfig; unknown sections, keys and model settings raise GaitidError."""
    allowed = {"seed", "model", *_SECTIONS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise GaitidError(f"unknown config section(s) {unknown}; known: {sorted(allowed)}")
    model = raw.get("model")
    if not isinstance(model, dict) or "name" not in model:
        raise GaitidError("config needs a [model] section with a 'name'")
    kwargs: dict[str, Any] = {"model": dict(model), "seed": int(raw.get("seed", 0))}
    for name, cls in _SECTIONS.items():
        if name in raw:
            kwargs[name] = _build_section(name, cls, raw[name])
    cfg = TrainConfig(**kwargs)
    _validate(cfg)
    return cfg


def _validate(cfg: TrainConfig) -> None:
    from gaitid.training.registry import model_config  # torch: only when training

    settings = {k: v for k, v in cfg.model.items() if k != "name"}
    try:
        model_config(str(cfg.model["name"]), **settings)
    except (ValueError, TypeError) as error:
        raise GaitidError(f"config [model]: {error}") from None
    if cfg.data.dataset != "casia-b":
        raise GaitidError(f"config [data] dataset: only 'casia-b' is supported, got {cfg.data.dataset!r}")
    if cfg.data.frame_sampling not in ("random", "contiguous"):
        raise GaitidError("config [data] frame_sampling must be 'random' or 'contiguous'")
    if cfg.optimizer.name not in ("adam", "adamw", "sgd"):
        raise GaitidError(f"config [optimizer] name must be adam, adamw or sgd, got {cfg.optimizer.name!r}")
    if cfg.schedule.kind not in ("cosine", "constant", "multistep"):
        raise GaitidError("config [schedule] kind must be cosine, constant or multistep")
    parse_subjects(cfg.data.subjects)


_SUBJECTS = re.compile(r"\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?", re.ASCII)


def parse_subjects(text: str) -> list[int]:
    """'001-074' or '1-10,20' -> subject numbers (ASCII digits, at most 4 of them: no range can explode)."""
    out: list[int] = []
    for part in str(text).split(","):
        match = _SUBJECTS.fullmatch(part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise GaitidError(f"subjects: cannot read {text!r} (expected numbers and ranges: 001-074,080)")
        first = int(match[1])
        out.extend(range(first, int(match[2] or first) + 1))
    return out


def read_config_file(path: Path | str) -> dict[str, Any]:
    """A YAML (.yaml/.yml) or TOML (.toml) file as a mapping; what is not one raises GaitidError."""
    path = Path(path)
    if not path.is_file():
        raise GaitidError(f"config not found: {path}")
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise GaitidError(f"config must be .yaml, .yml or .toml, got {path.name}")
    try:
        text = path.read_bytes().decode("utf-8")
        if path.suffix == ".toml":
            raw = tomllib.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise GaitidError(f"{path}: not a text file (not UTF-8)") from None
    except Exception as error:  # tomllib.TOMLDecodeError, yaml.YAMLError
        raise GaitidError(" ".join(f"{path}: cannot parse ({error})".split())) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GaitidError(f"{path}: expected a mapping of sections")
    return raw


def load_config(path: Path | str) -> TrainConfig:
    """Read a YAML (.yaml/.yml) or TOML (.toml) training config."""
    raw = read_config_file(path)
    try:
        return config_from_dict(raw)
    except (TypeError, ValueError) as error:  # a section or a value of the wrong kind
        raise GaitidError(" ".join(f"{path}: {error}".split())) from None
