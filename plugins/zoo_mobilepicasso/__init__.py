"""Placeholder while the mobilepicasso plugin is written in this session; it registers nothing yet."""
