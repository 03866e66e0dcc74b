"""Hugging Face Space: the zoo's image-editing demo with instruct-pix2pix preselected.

Written by `zoo space instruct-pix2pix`; the app itself lives in the zoo (zoo.demo), so every
registered image-editing model is in the dropdown.
"""
import zoo.demo

demo = zoo.demo.build_app("image-editing", default="instruct-pix2pix")

if __name__ == "__main__":
    zoo.demo.launch(demo)
