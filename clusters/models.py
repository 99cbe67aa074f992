"""Clusters and installations (to come); the app exists so the layout is stable."""
