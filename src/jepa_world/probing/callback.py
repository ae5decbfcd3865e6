"""Probing during training: how well the world model's predictions locate the agent, per epoch.

Every ``every_n_epochs`` epochs (and after the last one) :class:`ProbingCallback` freezes the
world model, computes its predicted representations on a subset of the probe splits, trains a
fresh prober on them and logs ``probe/<set>`` for each set present, the time it took, and a
picture of decoded trajectories.

It is a monitor, not the protocol: by default it uses at most 2,048 training and 512 scored
trajectories per split and a learning rate 50 times the protocol's. With the protocol's
5e-5 peak, a prober trained on a thousand trajectories barely leaves its initialisation (even
a perfect 2-D representation of the position scores ~140 px² that way), so the curve would say
nothing; with 2.5e-3 it fits what the representation holds within 20 cheap epochs (the
representations are computed once). ``jepa probe`` gives the protocol's figures.

It never touches the module's optimiser, restores every submodule's train/eval mode, and
leaves the global random streams as they were, so a run with the callback trains exactly like
one without it. Under DDP rank 0 trains the probers and hands them to the other ranks; each rank
then encodes and scores its own share of the batches of every val set, and the squared errors
are summed across ranks (torchmetrics' synchronisation), so every rank logs the whole set's
figure, the one a single process would compute.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor, nn

from jepa_world.probing.evaluator import ProbeRunner, ProbeSettings
from jepa_world.probing.prober import Prober
from jepa_world.probing.results import ALL_SETS, PROBE_SETS, ProbeResult
from jepa_world.probing.splits import ProbeDataError, missing_splits, open_probe_split
from jepa_world.rank_zero import log_on_every_rank, run_on_rank_zero


class ProbingCallback(Callback):
    """Train a prober on frozen predictions every few epochs and log its error.

    Args:
        data_dir: Directory with the ``probe_*`` splits. ``None`` takes the datamodule's
            ``data_dir`` attribute.
        every_n_epochs: Probe after every this many training epochs (and after the last).
        sets: Sets to probe; each must be present. ``None``: ``normal`` (required) plus
            whichever of ``wall``, ``wall_other``, ``expert`` exist.
        epochs: Prober epochs over the cached representations.
        max_train: Trajectories the prober trains on, per training split (None: all).
        max_val: Trajectories scored per set (None: all).
        base_lr: Prober learning rate for batch 256; the protocol's is 2e-4 (set it, with
            ``max_train=None`` and ``max_val=None``, to log the protocol's own numbers).
        batch_size: Prober batch size.
        seed: Seeds the prober; the training run's own random streams are not touched.
        log_images: Log the trajectory picture (TensorBoard-like loggers with ``add_figure``).
        model_attribute: Attribute of the LightningModule holding the world model.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        every_n_epochs: int = 5,
        sets: Sequence[str] | None = None,
        epochs: int = 20,
        max_train: int | None = 2048,
        max_val: int | None = 512,
        base_lr: float = 1e-2,
        batch_size: int = 64,
        seed: int = 0,
        log_images: bool = True,
        model_attribute: str = "world_model",
    ) -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"ProbingCallback: every_n_epochs must be >= 1, got {every_n_epochs}")
        if epochs < 1:
            raise ValueError(f"ProbingCallback: epochs must be >= 1, got {epochs}")
        for name in sets or ():
            if name not in PROBE_SETS:
                raise ValueError(
                    f"ProbingCallback: unknown set {name!r}; expected some of {', '.join(ALL_SETS)}"
                )
        self.data_dir = data_dir
        self.every_n_epochs = every_n_epochs
        self.requested_sets = tuple(sets) if sets is not None else None
        self.epochs = epochs
        self.max_train = max_train
        self.max_val = max_val
        self.base_lr = base_lr
        self.batch_size = batch_size
        self.seed = seed
        self.log_images = log_images
        self.model_attribute = model_attribute
        self.sets: tuple[str, ...] = ()
        self._root: Path | None = None
        self.last_result: ProbeResult | None = None

    # -- setup ------------------------------------------------------------------------------

    def _resolve_data_dir(self, trainer: pl.Trainer) -> Path:
        if self.data_dir is not None:
            return Path(self.data_dir)
        datamodule = getattr(trainer, "datamodule", None)
        found = getattr(datamodule, "data_dir", None)
        if found is None:
            raise ProbeDataError(
                "ProbingCallback: no data_dir given and the datamodule has no `data_dir`; pass "
                "data_dir=... (the directory holding probe_normal/, probe_wall/, ...)"
            )
        return Path(found)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        model = getattr(pl_module, self.model_attribute, None)
        if not isinstance(model, nn.Module) or not isinstance(
            getattr(model, "repr_dim", None), int
        ):
            raise TypeError(
                f"ProbingCallback: {type(pl_module).__name__}.{self.model_attribute} must be a "
                "module with an integer repr_dim and forward(states, actions) -> (B, T, D)"
            )
        root = self._resolve_data_dir(trainer)
        if self.requested_sets is not None:
            required, wanted = self.requested_sets, self.requested_sets
        else:
            required, wanted = ("normal",), ALL_SETS
        missing = missing_splits(root, wanted)
        for name in required:
            if name in missing:
                raise ProbeDataError(
                    f"ProbingCallback: probe set {name!r} is needed but {missing[name]}; "
                    f"generate it (`jepa data generate --out {root}`) or remove the callback"
                )
        self.sets = tuple(name for name in wanted if name not in missing)
        self._root = root
        # Open (and validate) every split now, so a broken file fails before training starts.
        for name in self.sets:
            for relative in (PROBE_SETS[name].train, PROBE_SETS[name].val):
                open_probe_split(root / relative)
        skipped = [name for name in wanted if name in missing]
        if skipped:
            rank_zero_info(
                f"ProbingCallback: no data for {', '.join(skipped)}; probing {self.sets}"
            )

    # -- the probe --------------------------------------------------------------------------

    def _due(self, trainer: pl.Trainer) -> bool:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        return epoch % self.every_n_epochs == 0 or last

    def runner(
        self, pl_module: pl.LightningModule, rank: int = 0, world_size: int = 1
    ) -> ProbeRunner:
        """A :class:`ProbeRunner` with the callback's settings for process ``rank`` of
        ``world_size``."""
        if self._root is None:
            raise RuntimeError("ProbingCallback: call setup(trainer, module, 'fit') first")
        settings = ProbeSettings(
            device=str(pl_module.device),
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            max_train=self.max_train,
            max_val=self.max_val,
            base_lr=self.base_lr,
            progress=False,
        )
        model = getattr(pl_module, self.model_attribute)
        return ProbeRunner(model, self._root, settings, rank=rank, world_size=world_size)

    def probe(self, pl_module: pl.LightningModule) -> ProbeResult:
        """Run the reduced protocol on the module's world model in this process alone."""
        return self.runner(pl_module).run(self.sets)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.sets or not self._due(trainer):
            return
        tic = time.perf_counter()
        world = trainer.world_size
        runner = self.runner(pl_module, trainer.global_rank, world)

        def train() -> dict[str, dict[str, Tensor]]:
            probers = runner.train_probers(self.sets)
            if world == 1:
                return {}
            return {split: _cpu_state(prober) for split, prober in probers.items()}

        # Rank 0 trains the probers; the others receive them.
        states = run_on_rank_zero(trainer, train, "ProbingCallback")
        if not trainer.is_global_zero:
            repr_dim = int(getattr(pl_module, self.model_attribute).repr_dim)
            for split, state in states.items():
                prober = Prober(repr_dim)
                prober.load_state_dict(state)
                runner.use_prober(split, prober)
        # Every rank encodes its own batches of each val set; a failure anywhere stops all
        # ranks here, before the scores are reduced across them.
        failure: Exception | None = None
        try:
            for name in self.sets:
                runner.representations(PROBE_SETS[name].val)
        except Exception as err:
            failure = err
        if trainer.strategy.reduce_boolean_decision(failure is not None, all=False):
            if failure is not None:
                raise failure
            raise RuntimeError("ProbingCallback failed on another rank (see its error)")
        result = runner.run(self.sets)  # each rank scores its batches; the scores are reduced
        values = {f"probe/{name}": mse for name, mse in result.losses.items()}
        values["probe/seconds"] = time.perf_counter() - tic
        log_on_every_rank(pl_module, values)
        if trainer.is_global_zero:
            self.last_result = result
            if self.log_images:
                self._log_figures(trainer, result)

    def _log_figures(self, trainer: pl.Trainer, result: ProbeResult) -> None:
        from jepa_world.probing.plots import plot_curves, plot_trajectories

        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            add_figure = getattr(experiment, "add_figure", None)
            if add_figure is None:
                continue
            add_figure("probe/trajectories", plot_trajectories(result), trainer.global_step)
            add_figure("probe/curves", plot_curves(result), trainer.global_step)


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {key: value.detach().cpu() for key, value in module.state_dict().items()}
