"""Helpers the rest of the package leans on: audio files, input checks, atomic writes."""
