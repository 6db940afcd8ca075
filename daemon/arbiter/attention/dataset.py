"""Training data from recordings: every recorded book is replayed through the Rust store and the
Rust feature code (the same calls the live signal makes), its mid series labelled by the move
`horizon` updates later, and the samples cut in time into a training part and a later, held-out
part that share no window and no horizon."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from arbiter.attention.gradients import Labels
from arbiter.attention.reference import Array
from arbiter.books import BookError, BookStore, FeatureTracker
from arbiter.sim.recording import DepthDiff, Snapshot, read_recording

SYMBOL = "BOOK"


@dataclass
class Series:
    """One book's updates: time, features and mid."""

    name: str
    times_ns: Array
    features: Array  # [updates, F]
    mids: Array


@dataclass
class Samples:
    windows: Array  # [n, window, F]
    labels: Labels  # 0 down, 1 flat, 2 up
    moves_bps: Array  # the labelled move of the mid
    starts_ns: Array  # when each window's first vector was received
    ends_ns: Array  # when its horizon ended

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, mask: npt.NDArray[np.bool_]) -> Samples:
        return Samples(*(getattr(self, name)[mask] for name in FIELDS))


FIELDS = ("windows", "labels", "moves_bps", "starts_ns", "ends_ns")


def read_diffs(path: Path) -> tuple[Snapshot, list[DepthDiff]]:
    """A recording's first snapshot and its depth diffs."""
    events = list(read_recording(path))
    snapshot = next(e for e in events if isinstance(e, Snapshot))
    return snapshot, [e for e in events if isinstance(e, DepthDiff)]


def tagged(name: str, diffs: list[DepthDiff]) -> Iterator[tuple[int, str, DepthDiff]]:
    """(received_ns, book name, diff): what merging several recordings in time sorts on."""
    return ((diff.received_ns, name, diff) for diff in diffs)


def replay(files: list[Path]) -> list[Series]:
    """Every file's book, replayed in the order the updates were received across all files. The
    basis feature of a book reads the mid of the previous file's book, cyclically (the files are
    one instrument; the daemon pairs its cross-venue groups the same way)."""
    store = BookStore()
    books = [(path.stem, *read_diffs(path)) for path in files]
    last_ids: dict[str, int] = {}
    for name, snapshot, _ in books:
        store.apply_snapshot(name, SYMBOL, snapshot.last_update_id, snapshot.bids, snapshot.asks)
        last_ids[name] = snapshot.last_update_id
    trackers = {name: FeatureTracker() for name, _, _ in books}
    rows: dict[str, list[tuple[int, list[float], float]]] = {name: [] for name, _, _ in books}
    twins = {name: books[i - 1][0] for i, (name, _, _) in enumerate(books) if len(books) > 1}
    merged: Iterator[tuple[int, str, DepthDiff]] = heapq.merge(
        *[tagged(name, diffs) for name, _, diffs in books], key=lambda item: (item[0], item[1])
    )
    broken: set[str] = set()
    for received_ns, name, diff in merged:
        if name in broken or diff.last_id <= last_ids[name]:
            continue  # older than the snapshot, or the book broke
        try:
            store.apply_delta(
                name, SYMBOL, diff.first_id, diff.last_id, diff.bids, diff.asks, diff.prev_last_id
            )
        except BookError:
            broken.add(name)  # a gap: the rest of this recording is not a state to learn from
            continue
        last_ids[name] = diff.last_id
        twin = twins.get(name)
        twin_mid = _mid(store, twin) if twin else None
        features = trackers[name].update(store, name, SYMBOL, twin_mid)
        mid = _mid(store, name)
        if features is not None and mid is not None:
            rows[name].append((received_ns, features, mid))
    return [
        Series(
            name,
            np.array([r[0] for r in series], dtype=np.int64),
            np.array([r[1] for r in series]),
            np.array([r[2] for r in series]),
        )
        for name, series in rows.items()
        if series
    ]


def _mid(store: BookStore, name: str) -> float | None:
    bid, ask = store.top_of_book(name, SYMBOL)
    return None if bid is None or ask is None else (bid[0] + ask[0]) / 2


def samples(series: list[Series], window: int, horizon: int, threshold_bps: float) -> Samples:
    """Every full window of every book, labelled by its mid's move `horizon` updates after its
    last vector: up beyond +threshold, down beyond -threshold, else flat."""
    parts = []
    for book in series:
        ends = np.arange(window - 1, len(book.mids) - horizon)
        if len(ends) == 0:
            continue
        moves = np.log(book.mids[ends + horizon] / book.mids[ends]) * 1e4
        labels = np.where(moves > threshold_bps, 2, np.where(moves < -threshold_bps, 0, 1))
        windows = np.stack([book.features[end - window + 1 : end + 1] for end in ends])
        parts.append(
            Samples(
                windows,
                labels.astype(np.int64),
                moves,
                book.times_ns[ends - window + 1],
                book.times_ns[ends + horizon],
            )
        )
    return Samples(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))


def split_in_time(data: Samples, share: float) -> tuple[Samples, Samples]:
    """The samples wholly before the `share` quantile of time, and those wholly after it: no
    window or horizon of one part overlaps the other."""
    cut = np.quantile(data.starts_ns, share)
    return data.take(data.ends_ns < cut), data.take(data.starts_ns >= cut)
