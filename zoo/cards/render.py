"""Render a ModelSpec (plus eval records, when present) into a Hub model card."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..specs import ModelSpec

TEMPLATE = Path(__file__).with_name("template.md")
LIBRARY_NAME = "diffusers"


def _records(spec: ModelSpec, records: Optional[list] = None) -> list:
    if records is not None:
        return records
    from ..evaluate.records import load_records

    return load_records(spec.id)


def card_data(spec: ModelSpec, records: Optional[list] = None):
    from huggingface_hub import ModelCardData

    recs = _records(spec, records)
    eval_results = None
    if recs:
        from ..evaluate.records import records_to_model_index

        eval_results = records_to_model_index(recs) or None
    tags = ["ondevice-diffusion-zoo", spec.family, spec.task, *spec.tags]
    if spec.paper and spec.paper.arxiv:
        tags.append(f"arxiv:{spec.paper.arxiv}")
    return ModelCardData(
        library_name=LIBRARY_NAME,
        pipeline_tag=spec.pipeline_tag,
        base_model=spec.base_model,
        license=spec.license,
        license_name=spec.license_name,
        tags=list(dict.fromkeys(tags)),
        model_name=spec.id,
        eval_results=eval_results,
    )


def render_card(spec: ModelSpec, records: Optional[list] = None):
    """Return a huggingface_hub ModelCard for ``spec``."""
    from huggingface_hub import ModelCard

    recs = _records(spec, records)
    table = None
    if recs:
        from ..evaluate.records import records_table_markdown

        table = records_table_markdown(recs)
    custom = sorted({c.class_name for c in spec.components} - _stock_classes())
    return ModelCard.from_template(
        card_data(spec, recs), template_path=str(TEMPLATE), spec=spec, results_table=table, custom_classes=custom
    )


def _stock_classes() -> set[str]:
    # Classes plain diffusers/transformers can instantiate from a config without the zoo.
    return {"UNet2DConditionModel", "AutoencoderKL", "AutoencoderTiny", "CLIPTextModel", "CLIPTextModelWithProjection",
            "T5EncoderModel", "PixArtTransformer2DModel", "SD3Transformer2DModel", "DiTTransformer2DModel",
            "Transformer2DModel", "SanaTransformer2DModel", "FluxTransformer2DModel"}


def card_path(cards_dir: Path, model_id: str) -> Path:
    return Path(cards_dir) / f"{model_id}.md"


def write_cards(cards_dir: Path, specs: list[ModelSpec]) -> list[Path]:
    out = []
    Path(cards_dir).mkdir(parents=True, exist_ok=True)
    for spec in specs:
        p = card_path(cards_dir, spec.id)
        p.write_text(str(render_card(spec)) + "\n")
        out.append(p)
    return out
