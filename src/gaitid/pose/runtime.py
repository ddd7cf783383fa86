"""Loading the shipped model files: TFLite models run with ai-edge-litert, ONNX models with onnxruntime."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from gaitid.errors import GaitidError

MODELS = resources.files("gaitid.pose") / "models"


def default_threads() -> int:
    """Threads per model: the machine's cores, at most four (more gives little on these small models)."""
    return max(1, min(4, os.cpu_count() or 1))


def model_path(filename: str) -> Path:
    path = Path(str(MODELS / filename))
    if not path.is_file():
        raise GaitidError(f"model file {filename} is missing from the installed package ({path})")
    return path


def load_tflite(filename: str, threads: int | None = None) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    path = model_path(filename)
    with _quiet_native_stderr():  # the runtime prints an INFO line about its CPU delegate
        interpreter = Interpreter(model_path=str(path), num_threads=threads or default_threads())
        interpreter.allocate_tensors()
    return interpreter


_STDERR_LOCK = threading.Lock()  # file descriptor 2 is process-wide: one redirection at a time


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    with _STDERR_LOCK:
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no usable stderr: nothing to quieten
            yield
            return
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_onnx(filename: str, threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: same output, and on a busy machine (load 8-12 on 2 cores)
    # spinning doubled the detector's CPU time per call (110 against 54 ms with 2 threads), cores that the
    # landmark, decoding and encoding threads need (benchmarks/RESULTS-pipeline.md, issue 19).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    return ort.InferenceSession(str(model_path(filename)), options, providers=providers)
