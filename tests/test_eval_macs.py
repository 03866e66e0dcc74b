"""MAC counting: a hand-computed conv + attention model, every counting mode, SD-style components."""
import pytest
import torch
import torch.nn.functional as F

from zoo.evaluate.macs import count_macs, module_macs, profile_module, sdpa_macs


class ConvAttn(torch.nn.Module):
    """conv 3->8 (3x3) on 16x16, then self-attention over the 256 pixels (2 heads of 4) and a
    cross-attention to 10 context tokens whose values have 6 channels per head."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.q = torch.nn.Linear(8, 8)
        self.k = torch.nn.Linear(8, 8)
        self.v = torch.nn.Linear(8, 8)

    def forward(self, x, context):
        h = self.conv(x)  # (1, 8, 16, 16)
        t = h.flatten(2).transpose(1, 2)  # (1, 256, 8)
        heads = lambda z: z.view(1, -1, 2, 4).transpose(1, 2)  # noqa: E731
        a = F.scaled_dot_product_attention(heads(self.q(t)), heads(self.k(t)), heads(self.v(t)))
        c = F.scaled_dot_product_attention(a, context[:, :, :, :4], context)  # q (1,2,256,4), k (1,2,10,4), v (1,2,10,6)
        return c


# By hand (MACs; biases add no multiplies):
CONV = (8 * 16 * 16) * (3 * 3 * 3)  # output elements x (in_ch x kernel area) = 55,296
PROJ = 3 * (256 * 8 * 8)  # q, k, v projections = 49,152
SELF_ATTN = 2 * (256 * 256 * 4 + 256 * 256 * 4)  # heads x (QK^T + AV) = 1,048,576
CROSS_ATTN = 2 * (256 * 10 * 4 + 256 * 10 * 6)  # = 51,200
EXPECTED = CONV + PROJ + SELF_ATTN + CROSS_ATTN


def _inputs(device="cpu"):
    g = torch.Generator().manual_seed(0)
    return {"x": torch.randn(1, 3, 16, 16, generator=g).to(device), "context": torch.randn(1, 2, 10, 6, generator=g).to(device)}


@pytest.mark.parametrize("mode", ["real", "fake", "auto"])
def test_hand_counted_conv_attention_on_cpu(mode):
    c = module_macs(ConvAttn().eval(), _inputs(), mode=mode)
    assert c.total == EXPECTED == 1_204_224
    assert c.attention == SELF_ATTN + CROSS_ATTN
    assert c.without_attention == CONV + PROJ


def test_hand_counted_on_meta():
    with torch.device("meta"):
        m = ConvAttn()
    c = module_macs(m, _inputs(), mode="auto")  # auto sees meta parameters and counts on meta
    assert (c.total, c.attention) == (EXPECTED, SELF_ATTN + CROSS_ATTN)


def test_sdpa_formula_with_grouped_heads():
    # 8 query heads sharing 2 key/value heads: every query head does its own products.
    assert sdpa_macs((2, 8, 5, 16), (2, 2, 7, 16), (2, 2, 7, 32)) == 2 * 8 * 5 * 7 * (16 + 32)


def test_count_macs_on_a_plain_function():
    a, b = torch.randn(4, 5), torch.randn(5, 6)
    assert count_macs(lambda a, b: a @ b, {"a": a, "b": b}).total == 4 * 5 * 6


def test_params_count_only_used_submodules():
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used = torch.nn.Linear(4, 4)
            self.unused = torch.nn.Linear(4, 100)

        def forward(self, x):
            return self.used(x)

    params, macs = profile_module(Two(), {"x": torch.randn(2, 4)})
    assert params == 4 * 4 + 4
    assert macs.total == 2 * 4 * 4


def test_tiny_sd_unet_fake_equals_real_and_meta():
    import zoo
    from zoo.components import component_modules

    spec = zoo.get_spec("sd15-tiny")
    real = component_modules(zoo.build(spec), spec, ["unet"])["unet"]
    meta = component_modules(zoo.build(spec, device="meta"), spec, ["unet"])["unet"]
    counts = [module_macs(real[0], real[1], mode="real"), module_macs(real[0], real[1], mode="fake"), module_macs(*meta)]
    assert len({(c.total, c.attention) for c in counts}) == 1
    assert counts[0].attention > 0
