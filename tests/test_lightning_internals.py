"""Every private Lightning (and torch) member the package relies on, checked against the installed version.

Lightning offers no public way to do two things this package needs: know whether LightningCLI
is instantiating the module with hyperparameters (``module._cli_gave_hyperparameters``), and
read how many training batches the loop has taken in the epoch (``TrajectoryDataModule``
resumes its loader from it). (``ResumableCheckpoint`` uses public APIs only: two
``ModelCheckpoint`` instances and an explicit save.) A Lightning release that renames any of them fails here, loudly and by name,
instead of silently changing resume behaviour. The same for torch's allocation of a batch in
shared memory (``data.datasets``), kept private because the public route copies the batch once
more.
"""

from __future__ import annotations

import lightning as L


def test_hyperparameter_context_used_by_the_module() -> None:
    from lightning.pytorch.core.mixins import hparams_mixin

    given = getattr(hparams_mixin, "_given_hyperparameters", None)
    assert given is not None and hasattr(given, "get"), (
        "hparams_mixin._given_hyperparameters is gone"
    )


def test_batch_progress_used_by_the_data_module() -> None:
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    progress = trainer.fit_loop.epoch_loop.batch_progress.current
    assert isinstance(progress.ready, int), (
        "fit_loop.epoch_loop.batch_progress.current.ready is gone"
    )


def test_shared_memory_allocation_used_by_worker_batches() -> None:
    import torch

    storage = torch.UntypedStorage._new_shared(16)
    assert storage.is_shared() and storage.nbytes() == 16, "UntypedStorage._new_shared changed"
