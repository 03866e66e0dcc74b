"""An outside author's plugin: a tiny text-to-image model family built from diffusers classes.

It imports only `zoo`'s public API. Its build hook reuses the SD1.5 tiny teacher's text encoder
and tokenizer configs, and swaps in a UNet of its own width.
"""
import zoo

FAMILY = "example"


@zoo.hookimpl
def register_models(register):
    register(
        zoo.ModelSpec(
            id="example-tiny",
            family=FAMILY,
            task="text-to-image",
            summary="Example plugin model: a 16-channel UNet on the SD1.5-tiny text encoder.",
            license="apache-2.0",
            resolution=64,
            pipeline_class="StableDiffusionPipeline",
            components=[
                zoo.ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                                  inputs={"sample": [1, 4, 8, 8], "timestep": [1], "encoder_hidden_states": [1, 77, 32]}),
            ],
            choices={"unet_width": zoo.Choice(value=16, why="smallest width that keeps 8 norm groups")},
        )
    )


@zoo.hookimpl
def build_model(spec):
    from zoo.building import build_component, build_pipeline

    teacher = zoo.get_spec("sd15-tiny").config["components"]
    comps = {name: build_component(cfg) for name, cfg in teacher.items() if name != "unet"}
    comps["unet"] = build_component({"class": "UNet2DConditionModel", "config": {
        **teacher["unet"]["config"], "block_out_channels": [16, 16, 16, 16], "norm_num_groups": 8}})
    return build_pipeline("StableDiffusionPipeline", comps, safety_checker=None, feature_extractor=None,
                          requires_safety_checker=False)
