"""Measures of generated samples; they read run directories, never a live training loop."""
