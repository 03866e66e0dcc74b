"""Placeholder while the fraqat plugin is written in this session; it registers nothing yet."""
