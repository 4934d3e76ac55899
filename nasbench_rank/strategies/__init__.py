"""Strategies written from the literature (the built-in ones move here)."""
