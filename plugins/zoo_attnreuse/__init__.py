"""Placeholder while the attnreuse plugin is written in this session; it registers nothing yet."""
