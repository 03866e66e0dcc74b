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
        value="t2i: a conv over the noisy latent; edit / sr / inpaint: over latent + condition latent (8 channels). From "
              "a text-to-image UNet the extra 4 start at zero; from an InstructPix2Pix-style UNet (mini-edit) the "
              "conditioned tasks start from its 8-channel conv and t2i from its latent slice",
        why="InstructPix2Pix's initialisation: step 0 ignores the condition (or reproduces the editing base exactly)"),
    "conditions": Choice(
        value="edit: the input photo; sr: the bicubic x4 upsample of the low-resolution photo to the output size; "
              "inpaint: the photo with the pixels under mask_image set to 0 in [-1, 1] (no mask channel: the paper's 8 "
              "channels); each as its VAE posterior mode, unscaled (InstructPix2Pix's image latent)",
        why="the paper names the concatenated latents, not their preprocessing; InstructPix2Pix's latent keeps an "
            "editing base's meaning of its condition channels"),
    "guidance": Choice(value="classifier-free guidance on the text only; the condition latent is the same in both "
                             "halves of the batch", why="one denoiser call per step, as the stock SD pipeline"),
    "folding": Choice(value="per task: experts concatenated into one FFN of the original width, output columns "
                            "scaled by the task's router weights, biases summed by weight",
                      why="exported graphs carry no router; equal to the routed model (tested)"),
    "task_sampling": Choice(value="uniform over the task mix", why="the spec's default", field="train config: task_weights"),
}
