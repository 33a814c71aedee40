"""The quality bar shared by the short real-data training tests (gankit.metrics.nearest)."""

import torch

from gankit.engine import Session, fit, generate
from gankit.metrics.nearest import gap_closed, nearest_report

MIN_GAP_CLOSED = 0.6
MIN_CLASSES = 8


def assert_training_beats_untrained(session: Session, reference: torch.Tensor, labels: torch.Tensor,
                                    held_out: torch.Tensor, samples: int, seed: int) -> None:
    """Train ``session`` and require its generator to close most of the nearest-neighbour gap
    between the untrained generator and held-out real images, covering most classes."""
    z = torch.randn(samples, session.cfg.model.z_dim, generator=torch.Generator().manual_seed(seed))
    before = nearest_report(generate(session.gan.sampler, z), reference, labels, held_out)
    fit(session, show_progress=False)
    after = nearest_report(generate(session.gan.sampler, z), reference, labels, held_out)
    print(f"nearest-neighbour distance: untrained {before.generated:.2f}, trained {after.generated:.2f}, "
          f"real {after.real:.2f}; classes covered {after.classes_covered}")
    closed = gap_closed(before, after)
    assert closed > MIN_GAP_CLOSED, f"only {closed:.0%} of the gap to real images closed"
    assert after.classes_covered >= MIN_CLASSES
