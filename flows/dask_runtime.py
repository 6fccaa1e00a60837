"""Where a flow's Dask work runs: the threaded scheduler, a LocalCluster, or an existing cluster.

One choice per flow run, made from the environment when the run starts (never at import):

- ``DASK_SCHEDULER_ADDRESS`` set (``tcp://host:8786``, the variable Dask itself reads): the flow
  connects a ``distributed.Client`` to that scheduler (Dask on Kubernetes, Dask Gateway's scheduler
  address, a dask-jobqueue cluster) and every ``dask.compute``/``persist`` of the run goes there.
  Nothing is started; the cluster belongs to the platform.
- else ``GEOSPACE_DASK=local-cluster``: a ``LocalCluster`` sized for the machine (worker processes,
  scheduler and workers bound to 127.0.0.1, dashboard off unless ``GEOSPACE_DASK_DASHBOARD`` gives a
  127.0.0.1 port), closed when the run ends.
- else (default, ``GEOSPACE_DASK=threads``): Dask's threaded scheduler inside the flow process, the
  faster of the two on one machine for these flows (reads are GDAL I/O that releases the GIL, and
  a LocalCluster costs seconds to start and pickles every chunk between processes).

:func:`with_dask` wraps a flow function so its body runs inside that choice.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from core.errors import InvalidInputError

ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
MODE_ENV = "GEOSPACE_DASK"
DASHBOARD_ENV = "GEOSPACE_DASK_DASHBOARD"
MODES = ("threads", "local-cluster")
LOOPBACK = "127.0.0.1"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class DaskChoice:
    """The scheduler a run uses: ``kind`` (threads, local-cluster, distributed) and its address."""

    kind: str
    address: str | None = None
    workers: int = 0


def choose(environ: dict[str, str] | None = None) -> DaskChoice:
    """The scheduler the environment asks for (pure; checked before anything starts).

    Raises :class:`InvalidInputError` (exit 2) for an unknown mode, a malformed address or a
    dashboard that would listen beyond 127.0.0.1.
    """
    env = os.environ if environ is None else environ
    address = env.get(ADDRESS_ENV, "").strip()
    if address:
        if "://" not in address or address.rsplit(":", 1)[-1].strip("/") == "":
            raise InvalidInputError(
                f"{ADDRESS_ENV}: {address!r}: not a scheduler address; "
                "give one like tcp://dask-scheduler:8786, or unset it to compute locally"
            )
        return DaskChoice("distributed", address)
    mode = env.get(MODE_ENV, "threads").strip() or "threads"
    if mode not in MODES:
        raise InvalidInputError(
            f"{MODE_ENV}: {mode!r}: unknown Dask mode; use one of {', '.join(MODES)}, "
            f"or set {ADDRESS_ENV} for an existing cluster"
        )
    dashboard = env.get(DASHBOARD_ENV, "").strip()
    if dashboard and not dashboard.startswith(f"{LOOPBACK}:"):
        raise InvalidInputError(
            f"{DASHBOARD_ENV}: {dashboard!r}: the Dask dashboard binds 127.0.0.1 only; "
            f"give {LOOPBACK}:PORT (tunnel to it) or leave it unset"
        )
    return DaskChoice(mode, workers=local_workers() if mode == "local-cluster" else 0)


def local_workers(cpus: int | None = None) -> int:
    """Worker processes of a LocalCluster on this machine: one per CPU, at least one, at most 8."""
    count = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(8, count))


@contextmanager
def dask_scheduler(choice: DaskChoice | None = None) -> Iterator[DaskChoice]:
    """Run the block on the chosen scheduler; what this context started, it stops."""
    import dask

    chosen = choice or choose()
    if chosen.kind == "threads":
        with dask.config.set(scheduler="threads"):
            yield chosen
        return
    from distributed import Client, LocalCluster

    if chosen.kind == "distributed":
        with Client(chosen.address, set_as_default=True) as client:
            yield DaskChoice("distributed", client.scheduler.address)
        return
    dashboard = os.environ.get(DASHBOARD_ENV, "").strip() or None
    with (
        LocalCluster(
            n_workers=chosen.workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=dashboard,
        ) as cluster,
        Client(cluster, set_as_default=True),
    ):
        yield DaskChoice("local-cluster", cluster.scheduler_address, chosen.workers)


def with_dask(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a flow body: it runs inside :func:`dask_scheduler` (signature kept for Prefect)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with dask_scheduler() as chosen:
            _log_choice(chosen)
            return fn(*args, **kwargs)

    # Prefect builds the flow's parameter model from the signature; the flow modules use
    # ``from __future__ import annotations``, so resolve the names (``date``) in fn's module.
    wrapper.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return wrapper


def _log_choice(chosen: DaskChoice) -> None:
    """Say in the run's log where its Dask work runs (an operator's first question)."""
    try:
        from prefect import get_run_logger

        logger: Any = get_run_logger()
    except Exception:  # outside a flow run (a direct call in a test): stdlib logging
        import logging

        logger = logging.getLogger(__name__)
    logger.info("dask: %s%s", chosen.kind, f" at {chosen.address}" if chosen.address else "")
