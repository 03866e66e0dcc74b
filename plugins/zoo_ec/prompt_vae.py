"""EC's prompt VAE and the fusion of the two conditioning Gaussians (arXiv 2503.17593).

The prompt VAE maps the pooled text embedding to a mean and log-variance in the denoiser's latent
space; ``fuse`` combines that Gaussian with the VAE posterior of the context image into the
noise distribution N(mu(c), Sigma(c)) the sampler starts from.
"""
from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

FUSIONS = ("sum", "product")


class PromptVAE(ModelMixin, ConfigMixin):
    """Pooled text embedding [B, D] -> (mean, logvar), each [B, C, S, S].

    A linear layer makes a coarse ``base_size`` map, nearest upsampling and 3x3 convolutions bring it
    to ``latent_size``: small (a dense head straight to 4x64x64 would cost tens of millions of weights).
    ``log_var_scale`` is the learnable scale on the fused variance (the zoo's [choice]).
    """

    @register_to_config
    def __init__(self, pooled_dim: int = 768, latent_channels: int = 4, latent_size: int = 64, base_size: int = 8,
                 hidden_channels: int = 128, fusion: str = "sum", init_log_var: float = 0.0):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if latent_size % base_size:
            raise ValueError(f"latent_size {latent_size} must be a multiple of base_size {base_size}")
        self.proj = nn.Linear(pooled_dim, hidden_channels * base_size * base_size)
        layers: list[nn.Module] = []
        size = base_size
        while size < latent_size:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1), nn.SiLU()]
            size *= 2
        self.up = nn.Sequential(*layers)
        self.out = nn.Conv2d(hidden_channels, 2 * latent_channels, 3, padding=1)
        # start near N(0, exp(init_log_var)): a fresh prompt branch adds no bias to the image's Gaussian
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.zero_()
            self.out.bias[latent_channels:] = init_log_var
        self.log_var_scale = nn.Parameter(torch.zeros(()))

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c, b = self.config.hidden_channels, self.config.base_size
        h = nn.functional.silu(self.proj(pooled.to(self.proj.weight.dtype))).view(pooled.shape[0], c, b, b)
        mean, logvar = self.out(self.up(h)).chunk(2, dim=1)
        return mean, logvar.clamp(-20.0, 10.0)

    def fuse(self, mean_i: torch.Tensor, var_i: torch.Tensor, mean_p: torch.Tensor, logvar_p: torch.Tensor):
        """(mean, std) of the fused Gaussian. ``sum``: the sum of independent Gaussians
        (mu_I + mu_P, var_I + var_P); ``product``: the precision-weighted product. Either
        variance is multiplied by the learnable exp(log_var_scale)."""
        var_p = logvar_p.exp()
        var_i = var_i.clamp_min(1e-8)
        if self.config.fusion == "sum":
            mean, var = mean_i + mean_p, var_i + var_p
        else:
            var = 1.0 / (1.0 / var_i + 1.0 / var_p)
            mean = var * (mean_i / var_i + mean_p / var_p)
        return mean, (var * self.log_var_scale.exp()).sqrt()


def kl_to_standard(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), averaged over elements."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
