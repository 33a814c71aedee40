"""The training engine: one iteration of the algorithm, the loop around it, checkpoints."""
