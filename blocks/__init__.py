"""Adversarial blocks: the offline generator, the block library on disk and pasting blocks onto frames."""
