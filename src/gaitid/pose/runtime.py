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


# XNNPACK delegate flags (tflite/delegates/xnnpack/xnnpack_delegate.h): QS8 | QU8 are its defaults;
# FORCE_FP16 runs the float operators in half precision where the CPU has native fp16 arithmetic.
XNNPACK_QS8, XNNPACK_QU8, XNNPACK_FORCE_FP16 = 0x1, 0x2, 0x4


class CompiledTflite:
    """A TFLite model compiled by LiteRT for the CPU with chosen XNNPACK flags; `run(x)` returns the outputs
    by name, each with the model's batch axis. Not to be shared between threads (one per thread)."""

    def __init__(self, filename: str, threads: int | None = None, fp16: bool = False) -> None:
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import CpuOptions, Options

        flags = XNNPACK_QS8 | XNNPACK_QU8 | (XNNPACK_FORCE_FP16 if fp16 else 0)
        options = Options(
            hardware_accelerators=HardwareAccelerator.CPU,
            cpu_options=CpuOptions(num_threads=threads or default_threads(), xnnpack_flags=flags),
        )
        with _quiet_native_stderr():  # the runtime warns about NPU and OpenVINO plugins it cannot load
            self._model = CompiledModel.from_buffer(model_path(filename).read_bytes(), options=options)
            if not self._model.is_fully_accelerated():
                raise GaitidError(f"{filename}: XNNPACK does not take the whole model with flags {flags:#x}")
            signature = next(iter(self._model.get_signature_list()))
            details = self._model.get_output_tensor_details(signature)
            self._inputs = self._model.create_input_buffers(0)
            self._outputs = self._model.create_output_buffers(0)
        self.fp16 = fp16
        self.output_shapes = {name: tuple(d["shape"]) for name, d in details.items()}

    def run(self, value: Any) -> dict[str, Any]:
        import numpy as np

        self._inputs[0].write(np.ascontiguousarray(value, np.float32))
        self._model.run_by_index(0, self._inputs, self._outputs)
        return {
            name: buffer.read(int(np.prod(shape)), np.float32).reshape(shape)
            for (name, shape), buffer in zip(self.output_shapes.items(), self._outputs)
        }


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
    options.log_severity_level = 3
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    return ort.InferenceSession(str(model_path(filename)), options, providers=providers)
