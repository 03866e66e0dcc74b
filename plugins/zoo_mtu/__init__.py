"""Placeholder while the mtu plugin is written in this session; it registers nothing yet."""
