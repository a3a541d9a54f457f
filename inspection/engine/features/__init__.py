"""Turning images and anomaly maps into vectors, and scoring vectors by their nearest normal neighbours."""
