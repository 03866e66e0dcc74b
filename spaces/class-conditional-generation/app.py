"""Hugging Face Space: the zoo's class-conditional-generation demo with dit-xl-2-256 preselected.

Written by `zoo space dit-xl-2-256`; the app itself lives in the zoo (zoo.demo), so every
registered class-conditional-generation model is in the dropdown.
"""
import zoo.demo

demo = zoo.demo.build_app("class-conditional-generation", default="dit-xl-2-256")

if __name__ == "__main__":
    zoo.demo.launch(demo)
