"""gankit: train, sample and inspect generative adversarial networks."""

__version__ = "0.1.0"
