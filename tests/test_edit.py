"""EDiT / MM-EDiT: the conversion's maths against hand-written references, save/load, options."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import zoo


def _pixart_tiny():
    from diffusers import PixArtTransformer2DModel

    from zoo.building import build_component

    torch.manual_seed(0)
    t = build_component(zoo.get_spec("pixart-sigma-tiny").config["components"]["transformer"])
    assert isinstance(t, PixArtTransformer2DModel)
    return t


def _sd3_tiny():
    from zoo.building import build_component

    torch.manual_seed(0)
    return build_component(zoo.get_spec("sd35-medium-tiny").config["components"]["transformer"])


def _avg_compress(x, h, w):
    """Reference stride-2 3x3 mean (zeros padded) over a B,N,C token map."""
    b, n, c = x.shape
    m = x.transpose(1, 2).reshape(b, c, h, w)
    return F.conv2d(m, torch.full((c, 1, 3, 3), 1 / 9), stride=2, padding=1, groups=c).flatten(2).transpose(1, 2)


def _ref_linear(q, k, v, heads, eps=1e-6):
    """y_i = q_i (sum_j k_j^T v_j) / (q_i sum_j k_j^T), per head, written with einsum."""
    b, n, c = q.shape
    d = c // heads
    q, k, v = (t.reshape(b, -1, heads, d) for t in (q, k, v))
    kv = torch.einsum("bmhd,bmhe->bhde", k, v)
    num = torch.einsum("bnhd,bhde->bnhe", q, kv)
    den = torch.einsum("bnhd,bhd->bnh", q, k.sum(1))[..., None] + eps
    return (num / den).reshape(b, n, c)


def test_fresh_conversion_is_relu_wq_linear_attention():
    from zoo_edit.models import convert

    t = convert(_pixart_tiny())
    attn = t.transformer_blocks[0].attn1
    h = w = 4
    t._edit_grid.hw = (h, w)
    x = torch.randn(2, h * w, attn.to_q.weight.shape[1])
    q = F.relu(attn.to_q(x))                                    # ConvFusion is zero at init
    k = F.relu(_avg_compress(attn.to_k(x), h, w))
    v = _avg_compress(attn.to_v(x), h, w)
    ref = attn.to_out[0](_ref_linear(q, k, v, attn.heads))
    with torch.no_grad():
        assert torch.allclose(attn(x), ref, atol=1e-5)
        # ConvFusion is live: a non-zero last conv changes the queries and so the output
        torch.nn.init.normal_(attn.edit_q.conv1.weight)
        assert not torch.allclose(attn(x), ref, atol=1e-3)
    # cross-attention stays the stock softmax processor
    assert type(t.transformer_blocks[0].attn2.processor).__name__ == "AttnProcessor2_0"


def test_mm_edit_joint_rows():
    from zoo_edit.models import convert

    t = convert(_sd3_tiny())
    attn = t.transformer_blocks[0].attn
    h = w = 4
    t._edit_grid.hw = (h, w)
    torch.manual_seed(1)
    x, e = torch.randn(1, h * w, 32), torch.randn(1, 5, 32)
    heads, d = attn.heads, 32 // attn.heads

    def split(z):
        return z.view(1, -1, heads, d).transpose(1, 2)

    def merge(z):
        return z.transpose(1, 2).reshape(1, -1, heads * d)

    with torch.no_grad():
        img, txt = attn(x, encoder_hidden_states=e)
        q = attn.norm_q(split(attn.to_q(x)))
        k = attn.norm_k(split(_avg_compress(attn.to_k(x), h, w)))
        v = split(_avg_compress(attn.to_v(x), h, w))
        pq, pk, pv = attn.norm_added_q(split(attn.add_q_proj(e))), attn.norm_added_k(split(attn.add_k_proj(e))), split(attn.add_v_proj(e))
        lin = _ref_linear(merge(F.relu(q)), merge(F.relu(k)), merge(v), heads)
        eta = 16 / (16 + 5)                                      # uncompressed image tokens
        soft = merge(torch.softmax(q @ pk.transpose(-1, -2) / d ** 0.5, -1) @ pv)
        assert torch.allclose(img, attn.to_out[0](eta * lin + (1 - eta) * soft), atol=1e-5)
        keys, vals = torch.cat([k, pk], 2), torch.cat([v, pv], 2)
        ref_txt = merge(torch.softmax(pq @ keys.transpose(-1, -2) / d ** 0.5, -1) @ vals)
        assert torch.allclose(txt, attn.to_add_out(ref_txt), atol=1e-5)
    # MMDiT-X's extra image-only self-attention is converted too (and kept softmax with dual=False)
    assert type(t.transformer_blocks[0].attn2.processor).__name__ == "EDiTAttnProcessor"
    t2 = convert(_sd3_tiny(), dual=False)
    assert type(t2.transformer_blocks[0].attn2.processor).__name__ != "EDiTAttnProcessor"


def test_converted_transformer_round_trips_with_diffusers(tmp_path):
    from zoo_edit.models import EDiTPixArtTransformer2DModel, convert

    t = convert(_pixart_tiny(), ratio=2, convfusion=True)
    torch.nn.init.normal_(t.transformer_blocks[1].attn1.edit_q.conv1.weight)
    t.save_pretrained(tmp_path)
    t2 = EDiTPixArtTransformer2DModel.from_pretrained(tmp_path)
    assert t2.config.edit_ratio == 2
    args = dict(hidden_states=torch.randn(1, 4, 8, 8), encoder_hidden_states=torch.randn(1, 16, 32),
                timestep=torch.tensor([10]))
    with torch.no_grad():
        assert torch.allclose(t(**args).sample, t2(**args).sample, atol=1e-6)


def test_technique_on_trained_teacher_and_errors():
    pipe = zoo.load("mini-pixart-tiny", pretrained=False, techniques={"edit": {"convfusion": False}})
    assert type(pipe.transformer).__name__ == "EDiTPixArtTransformer2DModel"
    assert pipe.transformer.transformer_blocks[0].attn1.edit_q is None
    with pytest.raises(zoo.ZooError, match="already converted"):
        from zoo_edit.technique import apply_edit

        apply_edit("edit", pipe, {})
    with pytest.raises(zoo.ZooError, match="edit option ratio"):
        zoo.load("mini-pixart-tiny", pretrained=False, techniques={"edit": {"ratio": 0}})
    with pytest.raises(zoo.ZooError, match="not found"):
        zoo.load("mini-pixart-tiny", pretrained=False, techniques={"edit": {"weights": "/nonexistent.safetensors"}})


def test_plugin_contract():
    from zoo.testing import check_plugin

    check_plugin("edit")
    reg = zoo.get_registry()
    assert reg.technique("mm-edit").choices["eta"].field == "technique option: eta"
    assert {"edit-pixart-sigma", "mm-edit-sd35m", "edit-pixart-sigma-tiny", "mm-edit-sd35m-tiny"} <= set(reg.models)


def _stock_state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_remove_restores_the_stock_model_bit_for_bit():
    import zoo_edit
    from zoo_edit.technique import apply_edit

    pipe = zoo.load("mini-pixart-tiny", pretrained=False)
    t = pipe.transformer.eval()
    procs, state, config = dict(t.attn_processors), _stock_state(t), dict(t.config)
    args = dict(hidden_states=torch.randn(2, 4, 8, 8), encoder_hidden_states=torch.randn(2, 6, t.config.caption_channels),
                timestep=torch.tensor([10, 500]))
    with torch.no_grad():
        ref = t(**args).sample
        apply_edit("edit", pipe, {})
        assert pipe.transformer is t and type(t).__name__ == "EDiTPixArtTransformer2DModel"
        torch.nn.init.normal_(t.transformer_blocks[0].attn1.edit_q.conv1.weight)
        assert not torch.equal(t(**args).sample, ref)
        assert zoo_edit.remove(pipe) is pipe
        assert type(t).__name__ == "PixArtTransformer2DModel" and pipe.config["transformer"][1] == "PixArtTransformer2DModel"
        assert torch.equal(t(**args).sample, ref)                         # bit for bit
    assert dict(t.attn_processors) == procs and not t._forward_pre_hooks
    assert set(t.state_dict()) == set(state) and dict(t.config) == config
    with pytest.raises(zoo.ZooError, match="not applied"):
        zoo_edit.remove(pipe)
    apply_edit("edit", pipe, {})                                          # and it converts again
    assert type(pipe.transformer).__name__ == "EDiTPixArtTransformer2DModel"


def test_remove_mm_edit_and_a_model_built_converted(tmp_path):
    from diffusers import PixArtTransformer2DModel

    from zoo_edit.models import convert, unconvert

    t = _sd3_tiny().eval()
    procs = dict(t.attn_processors)
    cfg = t.config
    args = dict(hidden_states=torch.randn(1, cfg.in_channels, 8, 8), timestep=torch.tensor([10]),
                encoder_hidden_states=torch.randn(1, 5, cfg.joint_attention_dim),
                pooled_projections=torch.randn(1, cfg.pooled_projection_dim))
    with torch.no_grad():
        ref = t(**args).sample
        unconvert(convert(t))
        assert type(t).__name__ == "SD3Transformer2DModel" and dict(t.attn_processors) == procs
        assert torch.equal(t(**args).sample, ref)
    # a model loaded converted (edit-pixart-sigma-tiny) comes back as a plain diffusers PixArt transformer
    import zoo_edit

    pipe = zoo_edit.remove(zoo.load("edit-pixart-sigma-tiny", pretrained=False))
    assert not any("edit_" in k for k in pipe.transformer.state_dict())
    pipe.transformer.save_pretrained(tmp_path)
    assert type(PixArtTransformer2DModel.from_pretrained(tmp_path)).__name__ == "PixArtTransformer2DModel"
