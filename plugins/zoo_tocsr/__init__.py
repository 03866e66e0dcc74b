"""Placeholder while the tocsr plugin is written in this session; it registers nothing yet."""
