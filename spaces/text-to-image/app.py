"""Hugging Face Space: the zoo's text-to-image demo with sd15 preselected.

Written by `zoo space sd15`; the app itself lives in the zoo (zoo.demo), so every
registered text-to-image model is in the dropdown.
"""
import zoo.demo

demo = zoo.demo.build_app("text-to-image", default="sd15")

if __name__ == "__main__":
    zoo.demo.launch(demo)
