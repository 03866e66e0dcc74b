"""Offline validation of card metadata (the Hub's own validator needs the network).

Checks what the Hub would reject or silently ignore: a licence outside its list, an unknown
pipeline tag, a malformed base_model, and model-index entries missing required fields.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ZooError

# Subset of the Hub's licence identifiers (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = {
    "apache-2.0", "mit", "openrail", "openrail++", "creativeml-openrail-m", "bigscience-openrail-m", "cc-by-4.0",
    "cc-by-nc-4.0", "cc-by-sa-4.0", "cc-by-nc-sa-4.0", "bsd-3-clause", "gpl-3.0", "llama2", "other", "unknown",
    "agpl-3.0", "lgpl-3.0", "cc0-1.0", "afl-3.0", "artistic-2.0", "bsd-2-clause", "gemma", "llama3",
}
PIPELINE_TAGS = {"text-to-image", "image-to-image", "unconditional-image-generation", "image-to-video", "text-to-video"}
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class _Metric(BaseModel):
    type: str
    value: Any
    name: Optional[str] = None


class _Result(BaseModel):
    task: dict
    dataset: dict
    metrics: list[_Metric] = Field(min_length=1)

    @field_validator("task")
    @classmethod
    def _task(cls, v: dict) -> dict:
        if "type" not in v:
            raise ValueError("model-index task needs a 'type'")
        return v

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: dict) -> dict:
        if not {"type", "name"} <= set(v):
            raise ValueError("model-index dataset needs 'type' and 'name'")
        return v


class _ModelIndex(BaseModel):
    name: str
    results: list[_Result]


class CardMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    library_name: str
    pipeline_tag: str
    license: str
    tags: list[str] = Field(min_length=1)
    base_model: Optional[str | list[str]] = None
    model_index: Optional[list[_ModelIndex]] = Field(None, alias="model-index")
    license_name: Optional[str] = None
    license_link: Optional[str] = None

    @field_validator("license")
    @classmethod
    def _license(cls, v: str) -> str:
        if v not in HUB_LICENSES:
            raise ValueError(f"licence {v!r} is not a Hub licence id (use 'other' with license_name)")
        return v

    @model_validator(mode="after")
    def _other_licence_is_named_and_linked(self) -> "CardMetadata":
        # The Hub shows an 'other' licence by its license_name and links its text with license_link.
        if self.license == "other" and not (self.license_name and self.license_link):
            raise ValueError("licence 'other' needs license_name and license_link (the licence's text)")
        return self

    @field_validator("pipeline_tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        if v not in PIPELINE_TAGS:
            raise ValueError(f"pipeline_tag {v!r} is not one the zoo's tasks map to")
        return v

    @field_validator("base_model")
    @classmethod
    def _base(cls, v):
        for b in [v] if isinstance(v, str) else (v or []):
            if not REPO_ID.match(b):
                raise ValueError(f"base_model {b!r} is not a Hub repo id (org/name)")
        return v


def validate_card(text: str) -> CardMetadata:
    """Parse a rendered card and validate its YAML metadata; raises ZooError with every problem."""
    from huggingface_hub import ModelCard

    card = ModelCard(text, ignore_metadata_errors=False)
    data = card.data.to_dict()
    try:
        meta = CardMetadata.model_validate(data)
    except Exception as exc:
        raise ZooError(f"invalid model card metadata: {exc}") from exc
    if "# " not in card.text:
        raise ZooError("model card has no title")
    return meta
