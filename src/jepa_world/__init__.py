"""jepa-world: JEPA world models for the two-rooms navigation task.

Layers, bottom to top: ``env`` (the simulator, numpy), ``models`` and ``strategies`` (torch),
``data`` (files, generator, DataModule), ``module`` (the LightningModule), ``probing``
(the course evaluation) and ``cli`` (the ``jepa`` command).
"""

__version__ = "0.1.0"
