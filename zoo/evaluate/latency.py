"""Wall-clock latency (median and spread after warm-up) and peak memory of one call.

Backends: torch eager (any device) and onnxruntime (CPU execution provider, model exported
with torch.onnx at static shapes). Peak memory on CPU is the rise of the process's peak
resident set during the call (Linux: VmHWM, reset through /proc/self/clear_refs; elsewhere a
sampling thread); on CUDA it is torch.cuda.max_memory_allocated.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass
class LatencyStats:
    median_ms: float
    p25_ms: float
    p75_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    warmup: int

    @property
    def iqr_ms(self) -> float:
        return self.p75_ms - self.p25_ms

    def as_dict(self) -> dict:
        return {**asdict(self), "iqr_ms": self.iqr_ms}


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def time_calls(fn: Callable[[], Any], warmup: int = 2, repeats: int = 10, sync: Optional[Callable[[], None]] = None,
               progress: Optional[str] = None) -> LatencyStats:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    sync = sync or (lambda: None)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=warmup + repeats, desc=progress, unit="call", leave=False)
    for _ in range(warmup):
        fn()
        sync()
        bar and bar.update(1)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
        bar and bar.update(1)
    bar and bar.close()
    return _stats(times, warmup)


def _stats(times: list[float], warmup: int) -> LatencyStats:
    return LatencyStats(
        median_ms=statistics.median(times), p25_ms=_quantile(times, 0.25), p75_ms=_quantile(times, 0.75),
        min_ms=min(times), max_ms=max(times), repeats=len(times), warmup=warmup,
    )


def time_interleaved(fns: dict[str, Callable[[], Any]], warmup: int = 2, repeats: int = 10,
                     sync: Optional[Callable[[], None]] = None, progress: Optional[str] = None) -> dict[str, LatencyStats]:
    """Time several calls in rounds (A B A B ...): each round calls every ``fn`` once, so a
    slowdown of a noisy machine hits all of them alike and their ratios hold."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    sync = sync or (lambda: None)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=(warmup + repeats) * len(fns), desc=progress, unit="call", leave=False)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(warmup + repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            if r >= warmup:
                times[name].append((time.perf_counter() - t0) * 1e3)
            bar and bar.update(1)
    bar and bar.close()
    return {k: _stats(v, warmup) for k, v in times.items()}


def _device_of(module: Any) -> Any:
    import torch

    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@contextlib.contextmanager
def _cpu_math():
    """Inference mode, and denormals flushed: random weights must not hit the slow denormal path."""
    import torch

    torch.set_flush_denormal(True)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_flush_denormal(False)  # torch's default


def torch_latency_interleaved(calls: dict[str, tuple[Any, dict[str, Any]]], warmup: int = 2, repeats: int = 10,
                              progress: Optional[str] = None) -> dict[str, LatencyStats]:
    """``{name: (module, inputs)}`` timed in rounds with torch eager (see time_interleaved)."""
    import torch

    fns, cuda = {}, False
    for name, (module, inputs) in calls.items():
        dev = _device_of(module)
        cuda |= dev.type == "cuda"
        moved = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        fns[name] = (lambda m, i: lambda: m(**i))(module, moved)
    with _cpu_math():
        return time_interleaved(fns, warmup, repeats, torch.cuda.synchronize if cuda else None, progress)


def torch_latency(module: Any, inputs: dict[str, Any], warmup: int = 2, repeats: int = 10,
                  progress: Optional[str] = None) -> LatencyStats:
    import torch

    dev = _device_of(module)
    inputs = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    sync = torch.cuda.synchronize if dev.type == "cuda" else None
    with _cpu_math():
        return time_calls(lambda: module(**inputs), warmup, repeats, sync, progress)


# -- peak memory --------------------------------------------------------------------------------
def _status_kb(field: str) -> Optional[int]:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak RSS to the current RSS
        return True
    except OSError:
        return False


def peak_memory_mb(fn: Callable[[], Any], device: Any = "cpu") -> Optional[float]:
    """Peak memory a call adds above what was in use before it, in MiB (None if unmeasurable)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        fn()
        torch.cuda.synchronize(dev)
        return (torch.cuda.max_memory_allocated(dev) - before) / 2**20
    _trim_heap()  # hand freed pages back so the call's allocations show up as a rise in RSS
    if _reset_hwm():
        before = _status_kb("VmRSS")
        fn()
        peak = _status_kb("VmHWM")
        if before is not None and peak is not None:
            return max(0, peak - before) / 1024
    return _sampled_peak_mb(fn)


def _trim_heap() -> None:
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _sampled_peak_mb(fn: Callable[[], Any]) -> Optional[float]:
    try:
        import psutil
    except ImportError:
        return None
    proc = psutil.Process(os.getpid())
    base = proc.memory_info().rss
    peak = [base]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.001)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return max(0, peak[0] - base) / 2**20


def torch_peak_memory_mb(module: Any, inputs: dict[str, Any]) -> Optional[float]:
    """Weights and buffers of ``module`` plus the peak working memory one call adds, in MiB."""
    import torch

    dev = _device_of(module)
    inputs = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    def call() -> None:
        with _cpu_math():
            module(**inputs)

    work = peak_memory_mb(call, dev)
    if work is None:
        return None
    weights = sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])
    return weights / 2**20 + work


# -- onnxruntime --------------------------------------------------------------------------------
def export_onnx(module: Any, inputs: dict[str, Any], path: Path) -> Path:
    """Export at static shapes with the dynamo exporter (weights as external data beside it)."""
    import torch

    names = list(inputs)
    args = tuple(inputs[n] for n in names)

    class Positional(torch.nn.Module):  # ONNX inputs are positional; keep the spec's names
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *xs: Any) -> Any:
            return self.inner(**dict(zip(names, xs)))

    with torch.no_grad():
        prog = torch.onnx.export(Positional(module).eval(), args, dynamo=True, input_names=names, verbose=False)
    prog.save(str(path), external_data=True)
    return path


def onnxruntime_latency(module: Any, inputs: dict[str, Any], warmup: int = 2, repeats: int = 10,
                        threads: Optional[int] = None, progress: Optional[str] = None) -> LatencyStats:
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="zoo-ort-") as d:
        path = export_onnx(module, inputs, Path(d) / "model.onnx")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed = {i.name: inputs[i.name].detach().cpu().numpy() for i in sess.get_inputs()}
        return time_calls(lambda: sess.run(None, feed), warmup, repeats, None, progress)
