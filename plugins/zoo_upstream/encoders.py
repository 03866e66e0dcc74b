"""Text-encoder configs the teachers share, as in their Hub repos' config.json files.

Full-size values follow the public configs (CLIP ViT-L/14, OpenCLIP ViT-H/14 and ViT-bigG/14
text towers, T5 v1.1 XXL encoder); the tiny ones keep the classes at toy widths.
"""
from __future__ import annotations

# openai/clip-vit-large-patch14 text tower (SD1.5, InstructPix2Pix, SD3 text_encoder).
CLIP_L = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
    "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "projection_dim": 768,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
# OpenCLIP ViT-H/14 text tower as SD 2.x ships it: 23 of its 24 layers (SD 2 reads the penultimate one).
OPENCLIP_H = {
    **CLIP_L, "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23, "num_attention_heads": 16,
    "hidden_act": "gelu", "projection_dim": 512,
}
# OpenCLIP ViT-bigG/14 text tower (SD3 text_encoder_2).
OPENCLIP_BIGG = {
    **CLIP_L, "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 20,
    "hidden_act": "gelu", "projection_dim": 1280,
}
# google/t5-v1_1-xxl, encoder only (PixArt-Sigma text_encoder, SD3 text_encoder_3).
T5_XXL = {
    "vocab_size": 32128, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
    "is_encoder_decoder": False, "use_cache": False, "pad_token_id": 0, "eos_token_id": 1,
}

# Tiny: the generated CLIP tokenizer emits ids < 514 and the generated T5 one ids < 100, and
# zoo.components.example_inputs draws ids from [0, 100): every vocab here covers both.
CLIP_TINY = {
    **CLIP_L, "vocab_size": 1000, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
    "num_attention_heads": 4, "projection_dim": 32,
}
T5_TINY = {**T5_XXL, "vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4}


def clip(config: dict, projection: bool = False) -> dict:
    cls = "CLIPTextModelWithProjection" if projection else "CLIPTextModel"
    return {"class": cls, "library": "transformers", "config": config}


def t5(config: dict) -> dict:
    return {"class": "T5EncoderModel", "library": "transformers", "config": config}


CLIP_TOKENIZER = {"class": "CLIPTokenizer", "library": "transformers", "generated": True}


def t5_tokenizer(max_length: int) -> dict:
    return {"class": "T5TokenizerFast", "library": "transformers", "generated": True, "model_max_length": max_length}
