"""Grants sources: one module per kind of infrastructure code, each with NAME, detect, load."""
