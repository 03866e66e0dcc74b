"""Typed records that plugins register: ModelSpec and TechniqueSpec.

They hold only plain data so that listing the zoo never imports torch.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# family[-variant][.tag]: lower-case words joined by "-", e.g. "sd15", "nanosd-s", "nanosd-s.w8a16"
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9_]+)?$")

Task = Literal[
    "text-to-image",
    "image-to-image",
    "super-resolution",
    "image-editing",
    "class-conditional-generation",
    "component",
]

# Hugging Face pipeline tags for each task (what the Hub filters on).
PIPELINE_TAGS: dict[str, str] = {
    "text-to-image": "text-to-image",
    "image-to-image": "image-to-image",
    "super-resolution": "image-to-image",
    "image-editing": "image-to-image",
    "class-conditional-generation": "unconditional-image-generation",
    "component": "text-to-image",
}


class PaperRef(BaseModel):
    """The paper a model or technique implements; shown in its card and `zoo info`.

    ``code_url`` / ``weights_url``: where the authors released code or weights, if they did
    (the card then says so instead of calling the zoo's the only implementation).
    """

    model_config = ConfigDict(extra="forbid")
    title: str
    arxiv: Optional[str] = None
    venue: Optional[str] = None
    authors: Optional[str] = None
    year: Optional[int] = None
    bibtex: Optional[str] = None
    code_url: Optional[str] = None
    weights_url: Optional[str] = None

    @property
    def url(self) -> Optional[str]:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None


class ComponentSpec(BaseModel):
    """One exportable part of a model (text encoder, UNet/transformer, VAE encoder/decoder)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    class_name: str = Field(description="the class that implements it, e.g. 'UNet2DConditionModel'")
    # Static input shapes used by export and cost eval, e.g. {"sample": [1, 4, 64, 64]}.
    inputs: dict[str, list[int]] = Field(default_factory=dict)
    # Input dtypes where they are not float32, e.g. {"input_ids": "int64"}.
    input_dtypes: dict[str, str] = Field(default_factory=dict)
    # Exclusive upper bound of an integer input's example values where the default (ids < 100,
    # timesteps < 1000) is out of range, e.g. a miniature text encoder's vocabulary: {"input_ids": 56}.
    input_high: dict[str, int] = Field(default_factory=dict)
    # Where the module lives in a pipeline and which of its methods the component is; derived
    # from the name when unset ('vae_decoder' -> pipe.vae.decode, 'unet' -> pipe.unet.forward).
    source: Optional[str] = None
    method: Optional[str] = None


class Choice(BaseModel):
    """A setting the paper leaves open, set by the zoo. Shown in the model card.

    ``field`` says where to change it (e.g. ``"train config: search_fidelity"``, ``"config: vae"``);
    None means the behaviour is fixed in the plugin's code.
    """

    model_config = ConfigDict(extra="forbid")
    value: Any
    why: str
    field: Optional[str] = None


class ModelSpec(BaseModel):
    """One registered model: what it is (id, family, task, paper, licence), how to build it
    (``config``, read by the core or the plugin's ``build_model``), what to export and count
    (``components`` with static input shapes), where its weights live (``hub_repo`` at
    ``revision``), the paper's figures (``reported``) and the zoo's own choices (``choices``).

    Plain data (pydantic): listing specs never imports torch. Registered by a plugin's
    ``register_models`` hook; ``zoo.get_spec(id)`` returns it. See CONTRIBUTING.md for every field.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    family: str
    summary: str
    task: Task
    components: list[ComponentSpec] = Field(default_factory=list)
    base_model: Optional[str] = Field(None, description="Hub repo id of the model this one derives from")
    license: str = "other"
    license_name: Optional[str] = Field(None, description="name of a licence the Hub has no id for (with license='other')")
    license_link: Optional[str] = Field(None, description="URL of that licence's text (with license='other')")
    hub_repo: Optional[str] = Field(None, description="Hub repo that holds the weights")
    revision: Optional[str] = Field(None, description="pinned revision (commit sha) of hub_repo")
    weights_by_authors: bool = Field(False, description="hub_repo holds the original authors' weights (teachers, baselines)")
    shipped_weights: Optional[str] = Field(
        None, description="'package:folder' of weights shipped inside a Python package (diffusers layout), e.g. "
        "'zoo_proving:weights/mini-sd'; found offline, before the HF cache")
    paper: Optional[PaperRef] = None
    export_targets: list[str] = Field(default_factory=lambda: ["onnx"])
    choices: dict[str, Choice] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    resolution: int = Field(512, description="default output resolution in pixels")
    pipeline_class: Optional[str] = Field(
        None, description="diffusers pipeline class the built model is (its call arguments drive the demos); "
        "taken from config['pipeline_class'] when unset")
    # Figures the paper reports (params, MACs, latency...) to print beside measured ones. Keys are
    # '<component>_<kind>' (kinds: params_m, params_b, gmacs (attention included), gmacs_no_attention,
    # tmacs, gflops, <hardware>_latency_ms); a key without a component prefix goes to the denoiser.
    # Only the paper's numbers: the zoo's own measurements go to eval records (results/).
    reported: dict[str, float] = Field(default_factory=dict)
    reported_notes: dict[str, str] = Field(
        default_factory=dict, description="why a measured figure differs from the reported one, keyed like "
        "'reported' (printed beside the numbers by `zoo bench` and in the card)")
    unsupported: dict[str, str] = Field(
        default_factory=dict, description="diffusers capabilities this model cannot support (names in "
        "zoo.capabilities.CAPABILITIES) -> why; they are refused with a one-line error, and the conformance kit checks "
        "the refusal instead of the behaviour")
    # Free-form configuration the owning plugin reads in its build hook.
    config: dict[str, Any] = Field(default_factory=dict)
    # Filled in by the registry: the plugin that registered the spec.
    plugin: Optional[str] = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"model id {v!r} must look like 'family-variant[.tag]' (lower case)")
        return v

    @field_validator("unsupported")
    @classmethod
    def _check_unsupported(cls, v: dict[str, str]) -> dict[str, str]:
        from .capabilities import check_names

        check_names(v)
        if not all(why.strip() for why in v.values()):
            raise ValueError("each unsupported capability must say why")
        return v

    @model_validator(mode="after")
    def _pipeline_class_from_config(self) -> "ModelSpec":
        if self.pipeline_class is None and isinstance(self.config.get("pipeline_class"), str):
            self.pipeline_class = self.config["pipeline_class"]
        return self

    @property
    def pipeline_tag(self) -> str:
        return PIPELINE_TAGS[self.task]

    @property
    def variant(self) -> str:
        return self.id.split(".")[0][len(self.family) + 1 :] if self.id.startswith(self.family + "-") else self.id

    def component(self, name: str) -> ComponentSpec:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"{self.id} has no component {name!r}; it has {[c.name for c in self.components]}")


class TechniqueSpec(BaseModel):
    """A method applied to a built model (attention reuse, EC sampling, FraQAT, ...).

    ``applies_to``: fnmatch patterns over model ids or families (``["sd15", "nanosd-*"]``);
    ``zoo.load(id, techniques={tid: options})`` checks it, then calls ``apply_technique`` on the
    registering plugin only. ``training_free=False`` when it needs a training recipe
    (``recipes``, run by ``zoo train ID --recipe NAME``); ``choices`` as for models.
    """

    model_config = ConfigDict(extra="forbid")
    id: str
    summary: str
    applies_to: list[str] = Field(description="fnmatch patterns over model ids or families")
    paper: Optional[PaperRef] = None
    choices: dict[str, Choice] = Field(default_factory=dict)
    training_free: bool = True
    recipes: list[str] = Field(
        default_factory=list, description="named calibration/training recipes run by `zoo train ID --recipe NAME` "
        "through the train_technique hook (e.g. a schedule search)")
    plugin: Optional[str] = None

    def applies(self, spec: ModelSpec) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(spec.id, p) or fnmatchcase(spec.family, p) for p in self.applies_to)
