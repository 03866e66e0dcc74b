"""Placeholder while the ec plugin is written in this session; it registers nothing yet."""
