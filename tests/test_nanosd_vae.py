"""NanoSD's tiny VAE and its distillation losses."""
from __future__ import annotations

import pytest
import torch

import zoo


def _params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _tiny_vae():
    from zoo_nanosd.vae import NanoSDTinyVAE

    torch.manual_seed(0)
    return NanoSDTinyVAE(**zoo.get_spec("nanosd-tiny").config["vae"]).eval()


def test_full_size_param_counts_near_the_paper():
    from zoo_nanosd.vae import NanoSDTinyVAE

    with torch.device("meta"):
        vae = NanoSDTinyVAE(**zoo.get_spec("nanosd-s").config["vae"])
    enc, dec = _params(vae.encoder) / 1e6, _params(vae.decoder) / 1e6
    assert enc == pytest.approx(2.0, rel=0.03) and dec == pytest.approx(1.3, rel=0.03), (enc, dec)
    assert set(vae.config.block_out_channels) == {64}
    with torch.device("meta"):
        z = vae.encode(torch.empty(1, 3, 512, 512)).latent_dist.mean
        img = vae.decode(z).sample
    assert tuple(z.shape) == (1, 4, 64, 64) and tuple(img.shape) == (1, 3, 512, 512)


def test_autoencoder_kl_api():
    vae = _tiny_vae()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        post = vae.encode(x).latent_dist
        assert post.mean.shape == (2, 4, 8, 8) and (post.std > 0).all()
        z = post.sample(generator=torch.Generator().manual_seed(0))
        assert not torch.equal(z, post.mode())
        img = vae.decode(z, return_dict=False, generator=None)[0]
        assert img.shape == x.shape
        img2, feats = vae.decode_with_features(z)
    torch.testing.assert_close(img2, img)
    assert [f.shape[-1] for f in feats] == [8, 16, 32, 64]
    assert vae.config.scaling_factor == 0.18215 and 2 ** (len(vae.config.block_out_channels) - 1) == 8


def test_bad_inputs_are_clear_errors():
    vae = _tiny_vae()
    with pytest.raises(zoo.ZooError, match="multiples of 8"):
        vae.encode(torch.rand(1, 3, 60, 64))
    with pytest.raises(zoo.ZooError, match=r"\[B, 4, H, W\]"):
        vae.decode(torch.rand(1, 3, 8, 8))
    from zoo_nanosd.vae import NanoSDTinyVAE

    with pytest.raises(zoo.ZooError, match="one encoder and one decoder depth per level"):
        NanoSDTinyVAE(encoder_layers_per_block=[1, 1])


def test_save_and_load_round_trip(tmp_path):
    from zoo_nanosd.vae import NanoSDTinyVAE

    vae = _tiny_vae()
    vae.save_pretrained(tmp_path)
    again = NanoSDTinyVAE.from_pretrained(tmp_path).eval()
    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(again.decode(z).sample, vae.decode(z).sample, rtol=0, atol=1e-5)


def _teacher_vae():
    from diffusers import AutoencoderKL

    torch.manual_seed(1)
    return AutoencoderKL(**zoo.get_spec("sd15-tiny").config["components"]["vae"]["config"]).eval()


def test_encoder_loss_is_posterior_matching():
    from zoo_nanosd.vae_losses import encoder_posterior_loss

    teacher, student = _teacher_vae(), _tiny_vae().train()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        t = teacher.encode(x).latent_dist
    assert encoder_posterior_loss(t, t).item() == 0.0
    s = student.encode(x).latent_dist
    loss = encoder_posterior_loss(t, s)
    expected = ((t.mean - s.mean) ** 2).mean() + ((t.std - s.std) ** 2).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert student.encoder.conv_out.weight.grad.abs().sum() > 0


def test_decoder_feature_loss_trains_student_and_projections():
    from zoo_nanosd.vae_losses import DecoderFeatureLoss, teacher_decoder_features

    teacher, student = _teacher_vae(), _tiny_vae().train()
    z = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        t_img, t_feats = teacher_decoder_features(teacher, z)
        torch.testing.assert_close(t_img, teacher.decode(z).sample)  # hooks leave decoding unchanged
    assert [f.shape[-1] for f in t_feats] == [8, 16, 32, 64]
    assert [f.shape[1] for f in t_feats] == list(teacher.config.block_out_channels)[::-1]
    loss_fn = DecoderFeatureLoss.for_models(student, teacher)
    s_img, s_feats = student.decode_with_features(z)
    loss = loss_fn(s_img, s_feats, t_img, t_feats)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert student.decoder.conv_in.weight.grad.abs().sum() > 0 and loss_fn.proj[0].weight.grad.abs().sum() > 0
    # a few steps reduce it: the loss is learnable, not a constant
    opt = torch.optim.Adam([*student.parameters(), *loss_fn.parameters()], lr=3e-3)
    first = loss.item()
    for _ in range(15):
        opt.zero_grad()
        s_img, s_feats = student.decode_with_features(z)
        loss = loss_fn(s_img, s_feats, t_img, t_feats)
        loss.backward()
        opt.step()
    assert loss.item() < first
