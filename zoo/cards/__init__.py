"""Model cards rendered from specs (and eval records) with huggingface_hub's ModelCard."""
from .render import render_card, card_path, write_cards  # noqa: F401
from .schema import validate_card  # noqa: F401
