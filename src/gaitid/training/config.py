"""Training experiments as data, one system for silhouette and skeleton models: a YAML or TOML file with
sections data, model, loss, sampler, optimizer, schedule and trainer. Every key is checked: an unknown key
or section is an error, never ignored. `--set SECTION.KEY=VALUE` overrides one setting.

The data section names the dataset, which goes with the model's modality: CASIA-B silhouettes for
silhouette models, the Kinect walks seen by random virtual cameras for skeleton models. Configs of the
former `gaitid train-skeleton` (flat keys, no sections) are still read: `upgrade_flat_skeleton` turns them
into this form.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitid.datasets.casia_b import CASIA_B_TRAIN_SUBJECTS
from gaitid.datasets.kinect import KINECT_TRAIN_PEOPLE, AugmentConfig
from gaitid.errors import GaitidError
from gaitid.training.silhouette_augment import SilhouetteAugment


DATASETS = ("casia-b", "kinect")
#: The training subjects of each dataset's protocol, the default of [data] subjects.
TRAINING_SUBJECTS: dict[str, tuple[int, ...]] = {"casia-b": CASIA_B_TRAIN_SUBJECTS, "kinect": KINECT_TRAIN_PEOPLE}


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "casia-b"  # "casia-b" (silhouette models) or "kinect" (skeleton models)
    root: str | None = None  # default: the shared data folder ($GAITID_DATA or ../shared/data)
    subjects: str | None = None  # "first-last,..."; default: the protocol's training subjects; test ones are refused
    frames: int = 12  # frames per training clip
    frame_sampling: str = "random"  # casia-b: "random" (set models) or "contiguous" (recurrent models)
    # casia-b, contiguous clips: every s-th frame, s drawn per clip from these; (1, 2) shows a model that
    # reads the frames' order both the 25 frames/s of the data and 12.5, near the pipeline's 10-15
    frame_steps: tuple[int, ...] = (1,)
    # kinect only: the 30 fps walks are subsampled to the model's frame rate with a random tempo factor in
    # `tempo`; each stretch is seen by `views_per_clip` random cameras
    tempo: tuple[float, float] = (0.8, 1.25)
    views_per_clip: int = 1
    # overrides of the dataset's augmentation: kinect's AugmentConfig (cameras, estimator noise) or
    # casia-b's SilhouetteAugment (silhouettes degraded like the pipeline's; off unless probability > 0)
    augment: dict[str, Any] = field(default_factory=dict)

    @property
    def subject_list(self) -> list[int]:
        return parse_subjects(self.subjects) if self.subjects else list(TRAINING_SUBJECTS[self.dataset])


@dataclass(frozen=True)
class LossConfig:
    triplet_margin: float = 0.2
    triplet_weight: float = 1.0
    ce_weight: float = 0.1
    label_smoothing: float = 0.1
    lift_weight: float = 1.0  # models with a 3-D lifting stage: weight of its loss (smooth L1, torso units)


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
    # A wall-clock budget in seconds (0: none), counted from the start of this invocation. Training ends at
    # `steps` or when the budget is spent, whichever comes first, and the cosine schedule follows whichever
    # is further along, so a budgeted run still ends annealed.
    max_seconds: float = 0.0


@dataclass(frozen=True)
class TrainerConfig:
    out_dir: str = "runs/gait"
    checkpoint_every: int = 200
    log_every: int = 10
    threads: int = 1
    progress: bool = True
    device: str = "auto"  # "auto" (a CUDA GPU when there is one), "cpu" or "cuda"
    # batches made ahead in a background thread (0: each made when needed). For a GPU, whose steps are
    # shorter than making a batch; the batches and their order are the same either way.
    prefetch: int = 0
    # convolution weights (and so their activations) laid out channels-last: the same arithmetic, and on the
    # CPU 1.55x faster steps for the silhouette models (oneDNN's preferred layout; GAIT_RESULTS.md).
    # Checkpoints are saved in the standard layout either way.
    channels_last: bool = True
    # "bf16": the forward pass under bfloat16 autocast (weights, optimizer and checkpoints stay float32).
    # On a CPU with native bfloat16 (AVX512-BF16, AMX) a silhouette model's step is 1.7x faster and learns
    # as well (validation subjects); on one without it, about 10x slower (GAIT_RESULTS.md, "Training in
    # bfloat16"). "fp32": no autocast. "auto": bf16 on a CPU that computes it natively, fp32 elsewhere
    # (GPUs included).
    precision: str = "fp32"
    # a training checkpoint (.pt) whose weights start the run (fine-tuning); the optimizer, schedule and
    # random generators start afresh. Layers whose shape differs (a classifier over other subjects) keep
    # their initialisation. A run that resumes from its own last.pt ignores it.
    init_from: str | None = None


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
        elif key == "tempo":
            value = tuple(float(v) for v in value)
        elif key == "frame_steps":
            value = tuple(value) if isinstance(value, (list, tuple)) else value
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Build and check a TrainConfig; unknown sections, keys and model settings raise GaitidError."""
    if is_flat_skeleton(raw):
        raw = upgrade_flat_skeleton(raw)
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


#: The dataset each modality trains on.
DATASET_OF = {"silhouette": "casia-b", "skeleton": "kinect"}


def _validate(cfg: TrainConfig) -> None:
    from gaitid.training.registry import create_model, model_modality  # torch: only when training

    settings = {k: v for k, v in cfg.model.items() if k != "name"}
    try:
        create_model(str(cfg.model["name"]), **settings)  # the model checks its sizes fit together
    except (ValueError, TypeError) as error:
        raise GaitidError(f"config [model]: {error}") from None
    _validate_data(cfg.data, model_modality(str(cfg.model["name"])))
    if settings.get("temporal") and cfg.data.frame_sampling != "contiguous":
        raise GaitidError("config [model] temporal reads the frames in order: set [data] frame_sampling: contiguous")
    if cfg.optimizer.name not in ("adam", "adamw", "sgd"):
        raise GaitidError(f"config [optimizer] name must be adam, adamw or sgd, got {cfg.optimizer.name!r}")
    if cfg.schedule.kind not in ("cosine", "constant", "multistep"):
        raise GaitidError("config [schedule] kind must be cosine, constant or multistep")
    if cfg.schedule.max_seconds < 0:
        raise GaitidError(f"config [schedule] max_seconds must be 0 (no budget) or more, got {cfg.schedule.max_seconds}")
    if cfg.trainer.device not in ("auto", "cpu", "cuda"):
        raise GaitidError(f"config [trainer] device must be 'auto', 'cpu' or 'cuda', got {cfg.trainer.device!r}")
    if cfg.trainer.precision not in ("auto", "fp32", "bf16"):
        raise GaitidError(
            f"config [trainer] precision must be 'auto', 'fp32' or 'bf16', got {cfg.trainer.precision!r}"
        )
    if cfg.trainer.prefetch < 0:
        raise GaitidError(f"config [trainer] prefetch must be 0 or more, got {cfg.trainer.prefetch}")


def _validate_data(data: DataConfig, modality: str) -> None:
    if data.dataset not in DATASETS:
        raise GaitidError(f"config [data] dataset must be one of {', '.join(DATASETS)}, got {data.dataset!r}")
    if data.dataset != DATASET_OF[modality]:
        raise GaitidError(
            f"config [data] dataset: a {modality} model trains on {DATASET_OF[modality]!r}, not {data.dataset!r}"
        )
    if data.frames < 1:
        raise GaitidError(f"config [data] frames must be at least 1, got {data.frames}")
    if data.frame_sampling not in ("random", "contiguous"):
        raise GaitidError("config [data] frame_sampling must be 'random' or 'contiguous'")
    steps = data.frame_steps
    if not isinstance(steps, tuple) or not steps or not all(isinstance(v, int) and v > 0 for v in steps):
        raise GaitidError(f"config [data] frame_steps must be positive whole numbers, got {steps!r}")
    if steps != (1,) and (data.dataset != "casia-b" or data.frame_sampling != "contiguous"):
        raise GaitidError("config [data] frame_steps applies to contiguous casia-b clips only")
    kinect_only = {"tempo": data.tempo != (0.8, 1.25), "views_per_clip": data.views_per_clip != 1}
    if data.dataset != "kinect" and any(kinect_only.values()):
        raise GaitidError(f"config [data] {[k for k, v in kinect_only.items() if v]}: kinect settings only")
    if data.views_per_clip < 1:
        raise GaitidError(f"config [data] views_per_clip must be at least 1, got {data.views_per_clip}")
    if data.dataset == "kinect":
        unknown = sorted(set(data.augment) - {f.name for f in dataclasses.fields(AugmentConfig)})
        if unknown:
            raise GaitidError(f"config [data] augment: unknown setting(s) {unknown}")
    else:
        SilhouetteAugment.from_overrides(data.augment)
    training = TRAINING_SUBJECTS[data.dataset]
    outside = sorted(set(data.subject_list) - set(training))
    if outside:
        raise GaitidError(
            f"config [data] subjects: {outside[0]:03d} is not a training subject of {data.dataset} "
            f"(training subjects: {training[0]:03d}-{training[-1]:03d}; the others are for testing only)"
        )


#: Where each key of a former flat skeleton config lives now ("model" and "model_settings" aside).
_FLAT_SKELETON_KEYS = {
    "root": ("data", "root"), "clip_frames": ("data", "frames"), "tempo": ("data", "tempo"),
    "augment": ("data", "augment"), "views_per_clip": ("data", "views_per_clip"),
    "seed": (None, "seed"), "steps": ("schedule", "steps"), "warmup": ("schedule", "warmup"),
    "max_seconds": ("schedule", "max_seconds"), "p": ("sampler", "p"), "k": ("sampler", "k"),
    "lr": ("optimizer", "lr"), "weight_decay": ("optimizer", "weight_decay"),
    "triplet_margin": ("loss", "triplet_margin"), "ce_weight": ("loss", "ce_weight"),
    "label_smoothing": ("loss", "label_smoothing"), "lift_weight": ("loss", "lift_weight"),
    "out_dir": ("trainer", "out_dir"), "checkpoint_every": ("trainer", "checkpoint_every"),
    "log_every": ("trainer", "log_every"), "threads": ("trainer", "threads"), "device": ("trainer", "device"),
}
#: The former trainer's defaults where they differ from this system's.
_FLAT_SKELETON_DEFAULTS = {"model": "skelnn_keypoints", "clip_frames": 40, "steps": 3000, "p": 16, "k": 4,
                           "lr": 2e-3, "weight_decay": 1e-4, "warmup": 100, "ce_weight": 1.0,
                           "checkpoint_every": 250, "log_every": 25, "out_dir": "runs/skeleton"}


def is_flat_skeleton(raw: dict[str, Any]) -> bool:
    """Whether `raw` is a config of the former `gaitid train-skeleton`: a model named by a string."""
    return isinstance(raw.get("model"), str) or "people" in raw


def upgrade_flat_skeleton(raw: dict[str, Any]) -> dict[str, Any]:
    """A config of the former `gaitid train-skeleton` (flat keys) in sections, training exactly as before
    (AdamW, warm-up then cosine, triplet weight 1). Unknown keys raise GaitidError."""
    known = {"model", "model_settings", "people", *_FLAT_SKELETON_KEYS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise GaitidError(f"unknown key(s) {unknown} in a flat skeleton training config; known: {sorted(known)}")
    flat = {**_FLAT_SKELETON_DEFAULTS, **raw}
    settings = flat.get("model_settings") or {}
    if not isinstance(settings, dict):
        raise GaitidError("model_settings must be a table of settings")
    out: dict[str, Any] = {
        "model": {"name": flat["model"], **settings},
        "data": {"dataset": "kinect"},
        "optimizer": {"name": "adamw"},
        "schedule": {"kind": "cosine"},
    }
    if "people" in flat:
        people = flat["people"]
        if not isinstance(people, (list, tuple)) or len(people) != 2:
            raise GaitidError(f"people must be [first, last], got {people!r}")
        out["data"]["subjects"] = f"{int(people[0]):03d}-{int(people[1]):03d}"
    for key, (section, name) in _FLAT_SKELETON_KEYS.items():
        if key in flat:
            if section is None:
                out[name] = flat[key]
            else:
                out.setdefault(section, {})[name] = flat[key]
    return out


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


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML (.yaml/.yml) or TOML (.toml) training config, with `overrides` ({"SECTION.KEY": value}
    or {"seed": value}, see `parse_overrides`) applied."""
    raw = read_config_file(path)
    if is_flat_skeleton(raw):
        raw = upgrade_flat_skeleton(raw)
    try:
        return config_from_dict(apply_overrides(raw, overrides or {}))
    except (TypeError, ValueError) as error:  # a section or a value of the wrong kind
        raise GaitidError(" ".join(f"{path}: {error}".split())) from None


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """["SECTION.KEY=VALUE", ...] -> {"SECTION.KEY": VALUE}, each VALUE read as YAML ("sampler.p=4",
    "data.tempo=[0.9, 1.1]", "seed=3")."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GaitidError(f"an override is SECTION.KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise GaitidError(" ".join(f"cannot read the value of {item!r}: {error}".split())) from None
    return out


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`raw` (a sectioned config) with each "SECTION.KEY" (or top-level "seed") of `overrides` set."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for key, value in overrides.items():
        section, dot, name = key.partition(".")
        if not dot:
            if section != "seed":
                raise GaitidError(f"override {key!r}: name a section and a key, e.g. sampler.p=8 (or seed=1)")
            out["seed"] = value
            continue
        if section not in out:
            out[section] = {}
        if not isinstance(out[section], dict) or not name or "." in name:
            raise GaitidError(f"override {key!r}: expected SECTION.KEY, e.g. sampler.p=8")
        out[section][name] = value
    return out
