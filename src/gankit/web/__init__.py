"""``gankit serve``: a local web lab over the run and study directories.

The server (:func:`gankit.web.server.create_app`) only reads run directories, samples their
generators and starts ``gankit train`` processes; training always happens in a process of its
own, so a run started from the page is an ordinary run directory and a run started from a
terminal shows up on the page too. The toy lab trains 2-D GANs in worker processes of its own
(:mod:`gankit.web.toys`). Needs the ``web`` extra: ``pip install 'gankit[web]'``.
"""
