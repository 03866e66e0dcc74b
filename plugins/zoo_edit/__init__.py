"""Placeholder while the edit plugin is written in this session; it registers nothing yet."""
