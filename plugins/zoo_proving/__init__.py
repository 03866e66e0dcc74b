"""Placeholder while the proving plugin is written in this session; it registers nothing yet."""
