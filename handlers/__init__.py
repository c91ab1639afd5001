"""Slack-facing code: listeners per surface, the sweep, Block Kit builders in ``blocks/``."""
