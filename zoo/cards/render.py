"""Render a ModelSpec (plus eval records, when present) into a Hub model card.

A registered model's card (``zoo card``, ``cards/``) describes the spec; a pushed repo's card
(``zoo push``) describes what was pushed: where its weights are, how to load *that* repo with
the zoo and with plain diffusers, and whether the weights are random.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..specs import ModelSpec

TEMPLATE = Path(__file__).with_name("template.md")
LIBRARY_NAME = "diffusers"
HUB_URL = "https://huggingface.co"


@dataclass(frozen=True)
class Pushed:
    """What `zoo push` wrote, so the card speaks of that repo rather than the registered spec."""

    repo: Optional[str] = None  # ORG/NAME it is uploaded to
    folder: Optional[str] = None  # or the local folder it was written to
    random_init: bool = False
    code_files: tuple[str, ...] = ()  # component code shipped for DiffusionPipeline(trust_remote_code=True)

    @property
    def load_ref(self) -> str:
        return f"hf-hub:{self.repo}" if self.repo else f"local-dir:{self.folder}"

    @property
    def diffusers_ref(self) -> str:
        return self.repo or str(self.folder)


def _records(spec: ModelSpec, records: Optional[list] = None) -> list:
    if records is not None:
        return records
    from ..evaluate.records import load_records, project_results_dir

    # The zoo's own measurements (results/ of the source tree), never a user's results folder:
    # a card must not change because someone ran `zoo eval`.
    shipped = project_results_dir()
    return load_records(spec.id, shipped) if shipped is not None and shipped.is_dir() else []


def is_random(spec: ModelSpec, pushed: Optional[Pushed]) -> bool:
    return bool(pushed.random_init) if pushed is not None else spec.id.endswith("-tiny")


def card_data(spec: ModelSpec, records: Optional[list] = None, pushed: Optional[Pushed] = None):
    from huggingface_hub import ModelCardData

    recs = _records(spec, records)
    eval_results = None
    if recs:
        from ..evaluate.records import records_to_model_index

        eval_results = records_to_model_index(recs) or None
    tags = ["ondevice-diffusion-zoo", spec.family, spec.task, *spec.tags]
    if spec.paper and spec.paper.arxiv:
        tags.append(f"arxiv:{spec.paper.arxiv}")
    if is_random(spec, pushed):
        tags.append("random-weights")
    return ModelCardData(
        library_name=LIBRARY_NAME,
        pipeline_tag=spec.pipeline_tag,
        # Random weights derive from nothing: declaring a base model would misfile the repo on the Hub.
        base_model=None if is_random(spec, pushed) else spec.base_model,
        license=spec.license,
        license_name=spec.license_name,
        license_link=spec.license_link,
        tags=list(dict.fromkeys(tags)),
        model_name=pushed.diffusers_ref if pushed else spec.id,
        eval_results=eval_results,
    )


def _weights(spec: ModelSpec, pushed: Optional[Pushed]) -> str:
    if pushed is not None:
        where = f"[`{pushed.repo}`]({HUB_URL}/{pushed.repo}) (this repo)" if pushed.repo else "this folder"
        return f"{where}: **random initialisation** (pushed with `--random-init`; a layout test, not a trained model)" \
            if pushed.random_init else where
    if spec.id.endswith("-tiny"):
        return "random by design (a test variant; `pretrained=False`)"
    if spec.shipped_weights:
        package, _, rel = spec.shipped_weights.partition(":")
        return f"shipped inside the `{package}` package (`{rel}/`): `zoo.load(\"{spec.id}\")` works offline on a fresh install"
    if spec.hub_repo:
        rev = f" @ `{spec.revision}`" if spec.revision else ""
        return f"[`{spec.hub_repo}`]({HUB_URL}/{spec.hub_repo}){rev}"
    return f"not published yet: train with `zoo train {spec.id}`, or build with `pretrained=False`"


def _applicable_techniques(spec: ModelSpec) -> list[Any]:
    from ..registry import get_registry

    return sorted((t for t in get_registry().techniques.values() if t.applies(spec)), key=lambda t: t.id)


def render_card(spec: ModelSpec, records: Optional[list] = None, pushed: Optional[Pushed] = None):
    """Return a huggingface_hub ModelCard for ``spec`` (for the repo ``pushed`` describes, if given)."""
    from huggingface_hub import ModelCard

    recs = _records(spec, records)
    table = None
    if recs:
        from ..evaluate.records import records_table_markdown

        table = records_table_markdown(recs)
    custom = sorted({c.class_name for c in spec.components} - _stock_classes())
    if pushed is not None:
        diffusers_ref, revision = pushed.diffusers_ref, None
        remote_code, needs_zoo = bool(pushed.code_files), bool(custom) and not pushed.code_files
    else:
        diffusers_ref, revision = spec.hub_repo, spec.revision
        remote_code, needs_zoo = bool(custom), False
    return ModelCard.from_template(
        card_data(spec, recs, pushed), template_path=str(TEMPLATE), spec=spec, results_table=table,
        custom_classes=custom, pushed=pushed, weights=_weights(spec, pushed), random=is_random(spec, pushed),
        load_ref=pushed.load_ref if pushed else spec.id, random_build=pushed is None and not spec.hub_repo and not spec.shipped_weights,
        diffusers_ref=diffusers_ref, revision=revision, remote_code=remote_code, needs_zoo=needs_zoo,
        techniques=_applicable_techniques(spec),
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
