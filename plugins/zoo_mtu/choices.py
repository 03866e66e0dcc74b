"""MTU's paper reference and the zoo's choices (plain data: no torch)."""
from __future__ import annotations

from zoo import Choice, PaperRef

TASKS = ("t2i", "edit", "sr", "inpaint")

PAPER = PaperRef(
    title="Multi-Task Upcycling for Efficient Extension of Text-to-Image Diffusion Models to Image-to-Image Tasks",
    arxiv="2503.11905", venue="ICML", year=2025, authors="Samsung AI Center Cambridge",
)

CHOICES = {
    "experts": Choice(value=4, why="the paper's best N for SD1.5 (1 for SDXL)", field="technique option: experts"),
    "upcycling_init": Choice(
        value="expert i = the pretrained GEGLU FFN's hidden units [i*d/N, (i+1)*d/N) (value and gate halves), output "
              "weight scaled by N, full output bias; router's last layer zero so weights start at 1/N",
        why="at step 0 the upcycled UNet reproduces the pretrained one exactly (tested)"),
    "router": Choice(value="per layer: task embedding (task_dim=64) -> Linear -> SiLU -> Linear -> softmax over N",
                     why="the paper says 'small MLP' without widths", field="technique option: task_dim"),
    "task_conv_in": Choice(
        value="t2i: the pretrained 4-channel conv; edit / sr / inpaint: 8 channels, the extra 4 zero-initialised",
        why="InstructPix2Pix's initialisation: step 0 ignores the condition"),
    "conditions": Choice(
        value="edit: VAE latent of the input photo; sr: of the bicubic upsample to the output size; inpaint: of the "
              "photo with masked pixels set to 0 (no mask channel: the paper's 8 channels)",
        why="the paper names the concatenated latents, not their preprocessing"),
    "guidance": Choice(value="classifier-free guidance on the text only; the condition latent is the same in both "
                             "halves of the batch", why="one denoiser call per step, as the stock SD pipeline"),
    "folding": Choice(value="per task: experts concatenated into one FFN of the original width, output columns "
                            "scaled by the task's router weights, biases summed by weight",
                      why="exported graphs carry no router; equal to the routed model (tested)"),
    "task_sampling": Choice(value="uniform over the task mix", why="the spec's default", field="train config: task_weights"),
}
