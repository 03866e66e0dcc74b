"""Placeholder while the edgedit plugin is written in this session; it registers nothing yet."""
