"""QUAD (arXiv 2603.29535): one static set of quantisation encodings shared by many LoRAs.

1. Sensitivity per LoRA, ``QSS = E_x[JS(f(x; w) || f(x; w_q))]``: the full-precision output vs
   the W8A16 output under that LoRA's own encodings (JS over a softmax across output channels).
2. The most sensitive LoRA is the anchor; encodings calibrated with it bound are the profile.
3. Every other LoRA is fine-tuned under those fixed encodings (fake quantisation, STE),
   ``L = L_denoise + lambda * ||f_teacher - f_student||^2``; only its LoRA factors change.

Encodings cover each adapted layer's input and output (min/max over the calibration batches);
base weights are W8 per tensor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch

from .lora import LoRA, LoRABank, LoRAInputLinear

Batch = Callable[[int, torch.Generator], tuple[dict, torch.Tensor]]  # (inputs, denoising target)
Encodings = dict[str, dict[str, tuple[float, float]]]  # layer -> {"input"/"output": (lo, hi)}


@dataclass
class QuadResult:
    qss: dict[str, float]
    anchor: str
    encodings: Encodings
    finetune_loss: dict[str, list[float]] = field(default_factory=dict)


def set_quant(layers: dict[str, LoRAInputLinear], enc: Optional[Encodings], w_bits: float = 8, a_bits: float = 16) -> None:
    """Fake-quantise with ``enc`` (None: back to full precision)."""
    for n, m in layers.items():
        m.w_bits, m.a_bits = (w_bits, a_bits) if enc is not None else (None, None)
        m.ranges = dict(enc.get(n, {})) if enc is not None else {}


def calibrate(layers: dict[str, LoRAInputLinear], run: Callable[[], Any]) -> Encodings:
    """Min/max of every adapted layer's input and output over the batches ``run()`` feeds."""
    for m in layers.values():
        m._observe = {}
    try:
        with torch.no_grad():
            run()
        return {n: {k: (float(torch.cat(v)[:, 0].min()), float(torch.cat(v)[:, 1].max())) for k, v in m._observe.items()}
                for n, m in layers.items() if m._observe}
    finally:
        for m in layers.values():
            m._observe = None


def js_divergence(p_out: torch.Tensor, q_out: torch.Tensor) -> torch.Tensor:
    """Mean over positions of JS(softmax_c(p) || softmax_c(q)), channels on dim 1."""
    lp, lq = p_out.float().log_softmax(1), q_out.float().log_softmax(1)
    lm = torch.logaddexp(lp, lq) - torch.log(torch.tensor(2.0))
    kl = lambda a, b: (a.exp() * (a - b)).sum(1)  # noqa: E731
    return (0.5 * kl(lp, lm) + 0.5 * kl(lq, lm)).mean()


def _fixed_batches(batch: Batch, n: int, size: int, seed: int) -> list[tuple[dict, torch.Tensor]]:
    return [batch(size, torch.Generator().manual_seed(seed + i)) for i in range(n)]


def sensitivity(model: Any, bank: LoRABank, name: str, batches: list, w_bits: float, a_bits: float) -> float:
    """QSS of LoRA ``name`` under its own encodings."""
    layers = bank.layers
    bank.use(name)
    set_quant(layers, None)
    enc = calibrate(layers, lambda: [model(**x) for x, _ in batches])
    with torch.no_grad():
        fp = [model(**x) for x, _ in batches]
        set_quant(layers, enc, w_bits, a_bits)
        q = [model(**x) for x, _ in batches]
    set_quant(layers, None)
    return float(torch.stack([js_divergence(a, b) for a, b in zip(fp, q)]).mean())


def _pad(t: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    return torch.nn.functional.pad(t, (0, cols - t.shape[1], 0, rows - t.shape[0]))


def forward_with(model: Any, layers: dict[str, LoRAInputLinear], params: LoRA, x: dict) -> torch.Tensor:
    """``model(**x)`` with trainable (unpadded) LoRA factors fed to the layers, padded to their rank."""
    for n, (A, B) in params.items():
        m = layers[n]
        m.graph_AB = (_pad(A, m.out_features, m.rank), _pad(B, m.rank, m.in_features))
    try:
        return model(**x)
    finally:
        for n in params:
            layers[n].graph_AB = None


def _eps(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The prediction part of the output (learned-sigma models emit twice the channels)."""
    return out[:, : target.shape[1]] if out.shape[1] == 2 * target.shape[1] else out


def finetune(model: Any, bank: LoRABank, name: str, original: LoRA, enc: Encodings, batch: Batch, steps: int,
             lr: float, lam: float = 1.0, batch_size: int = 8, w_bits: float = 8, a_bits: float = 16,
             seed: int = 0, progress: bool = True, denoise_weight: float = 1.0) -> list[float]:
    """Fine-tune LoRA ``name`` (its own rank) under the fixed shared encodings; the bank gets the result.
    ``denoise_weight`` scales L_denoise (1 in the paper; 0 = pure KD, for untrained models)."""
    from tqdm.auto import tqdm

    layers = bank.layers
    params = {n: (torch.nn.Parameter(A.clone()), torch.nn.Parameter(B.clone())) for n, (A, B) in original.items()}
    opt = torch.optim.Adam([p for ab in params.values() for p in ab], lr=lr)
    for p in model.parameters():
        p.requires_grad_(False)
    losses = []
    for step in tqdm(range(steps), desc=f"QUAD fine-tune {name}", disable=not progress):
        x, target = batch(batch_size, torch.Generator().manual_seed(seed * 7919 + step))
        bank.use(name)  # teacher: the LoRA as trained, full precision
        set_quant(layers, None)
        with torch.no_grad():
            teacher = model(**x)
        set_quant(layers, enc, w_bits, a_bits)
        out = forward_with(model, layers, params, x)
        loss = denoise_weight * torch.nn.functional.mse_loss(_eps(out, target), target) + \
            lam * torch.nn.functional.mse_loss(out, teacher)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    set_quant(layers, None)
    bank.add(name, {n: (A.detach(), B.detach()) for n, (A, B) in params.items()})
    return losses


def shared_profile(model: Any, bank: LoRABank, batch: Batch, *, calibration_batches: int = 4, batch_size: int = 8,
                   w_bits: float = 8, a_bits: float = 16, seed: int = 0) -> QuadResult:
    """Sensitivity of every LoRA, the anchor (most sensitive) and its encodings, the shared profile."""
    batches = _fixed_batches(batch, calibration_batches, batch_size, seed)
    scores = {n: sensitivity(model, bank, n, batches, w_bits, a_bits) for n in bank.names}
    anchor = max(scores, key=scores.get)
    bank.use(anchor)
    set_quant(bank.layers, None)
    enc = calibrate(bank.layers, lambda: [model(**x) for x, _ in batches])
    return QuadResult(qss=scores, anchor=anchor, encodings=enc)


def quad(model: Any, bank: LoRABank, originals: dict[str, LoRA], batch: Batch, *, calibration_batches: int = 4,
         batch_size: int = 8, steps: int = 50, lr: float = 1e-3, lam: float = 1.0, w_bits: float = 8,
         a_bits: float = 16, seed: int = 0, progress: bool = True, denoise_weight: float = 1.0) -> QuadResult:
    """The shared profile, then every LoRA but the anchor fine-tuned under its encodings."""
    result = shared_profile(model, bank, batch, calibration_batches=calibration_batches, batch_size=batch_size,
                            w_bits=w_bits, a_bits=a_bits, seed=seed)
    for n in bank.names:
        if n != result.anchor:
            result.finetune_loss[n] = finetune(model, bank, n, originals[n], result.encodings, batch, steps, lr, lam,
                                               batch_size, w_bits, a_bits, seed, progress, denoise_weight)
    return result


def shared_error(model: Any, bank: LoRABank, name: str, teacher_lora: LoRA, enc: Encodings, batches: list,
                 w_bits: float = 8, a_bits: float = 16) -> float:
    """MSE between the full-precision model with ``teacher_lora`` and the quantised model
    (shared encodings) with the bank's current LoRA ``name``."""
    layers = bank.layers
    with torch.no_grad():
        current = bank.loras[name]
        bank.add("__teacher__", teacher_lora)
        bank.use("__teacher__")
        set_quant(layers, None)
        ref = [model(**x) for x, _ in batches]
        del bank.loras["__teacher__"]
        bank.loras[name] = current
        bank.use(name)
        set_quant(layers, enc, w_bits, a_bits)
        out = [model(**x) for x, _ in batches]
        set_quant(layers, None)
    return float(torch.stack([torch.nn.functional.mse_loss(a, b) for a, b in zip(out, ref)]).mean())


def train_lora(model: Any, bank: LoRABank, rank: int, batch: Batch, steps: int, lr: float, batch_size: int = 8,
               seed: int = 0, progress: bool = True, desc: str = "LoRA") -> tuple[LoRA, list[float]]:
    """Train a rank-``rank`` LoRA on every LoRA-input layer by the denoising loss (full precision,
    base frozen); up factors start at zero, down factors small random, as LoRA does."""
    from tqdm.auto import tqdm

    layers = bank.layers
    g = torch.Generator().manual_seed(seed)
    params = {n: (torch.nn.Parameter(torch.zeros(m.out_features, rank)),
                  torch.nn.Parameter(torch.randn(rank, m.in_features, generator=g) / m.in_features ** 0.5))
              for n, m in layers.items()}
    opt = torch.optim.Adam([p for ab in params.values() for p in ab], lr=lr)
    for p in model.parameters():
        p.requires_grad_(False)
    set_quant(layers, None)
    losses = []
    for step in tqdm(range(steps), desc=desc, disable=not progress):
        x, target = batch(batch_size, torch.Generator().manual_seed(seed * 104729 + step))
        out = forward_with(model, layers, params, x)
        loss = torch.nn.functional.mse_loss(_eps(out, target), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return {n: (A.detach(), B.detach()) for n, (A, B) in params.items()}, losses
