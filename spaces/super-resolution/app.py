"""Hugging Face Space: the zoo's super-resolution demo with sd-x4-upscaler preselected.

Written by `zoo space sd-x4-upscaler`; the app itself lives in the zoo (zoo.demo), so every
registered super-resolution model is in the dropdown.
"""
import zoo.demo

demo = zoo.demo.build_app("super-resolution", default="sd-x4-upscaler")

if __name__ == "__main__":
    zoo.demo.launch(demo)
