"""Engines for rasv: GPT-SoVITS over HTTP or in-process, and an offline espeak-ng engine."""
