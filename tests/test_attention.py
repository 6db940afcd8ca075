"""The attention signal: the Rust forward pass equals the numpy reference on the same weights,
on random and on real windows; a weights file that is corrupted, truncated or made for other
features or sizes is refused with one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from arbiter.attention.gradients import FROZEN, loss_and_gradients
from arbiter.attention.reference import Sizes, forward, initial_params, save
from arbiter.books import FEATURES, AttentionModel, BookStore, FeatureTracker, Signal
from arbiter.sim.recording import DepthDiff, Snapshot, read_recording
from tests.conftest import RECORDINGS, write_config
from tests.harness import arbiter
from tests.reference import ReferenceBook

SIZES = Sizes(window=16, d_model=16, heads=4, hidden=32, horizon=20)


def weights(
    tmp_path: Path, seed: int = 7, sizes: Sizes = SIZES
) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    params = initial_params(sizes, rng)
    # Not the identity: the normalisation and layer norms are exercised too.
    params["norm.mean"] = rng.normal(0, 1, len(FEATURES))
    params["norm.std"] = rng.uniform(0.5, 3, len(FEATURES))
    for name in params:
        if name.endswith(("ln1.weight", "ln2.weight", "ln_final.weight")):
            params[name] = rng.uniform(0.5, 1.5, params[name].shape)
        elif name.endswith("bias"):
            params[name] = rng.normal(0, 0.1, params[name].shape)
    # What the file holds is float32: the reference runs on exactly those values.
    params = {name: value.astype(np.float32).astype(np.float64) for name, value in params.items()}
    path = tmp_path / "weights.safetensors"
    save(path, params, sizes, {"trained_on": "test"})
    return path, params


def real_windows(count: int) -> np.ndarray:
    """Feature windows from the bundled spot recording, through the Rust feature code."""
    events = list(read_recording(RECORDINGS / "spot_btcusdt_20240808.gz"))
    snapshot = next(e for e in events if isinstance(e, Snapshot))
    reference = ReferenceBook(snapshot, futures=False)  # which diffs follow the snapshot
    store, tracker, rows = BookStore(), FeatureTracker(), []
    store.apply_snapshot(
        "binance", "BTC/USDT", snapshot.last_update_id, snapshot.bids, snapshot.asks
    )
    for diff in (e for e in events if isinstance(e, DepthDiff)):
        if not reference.apply(diff):
            continue
        store.apply_delta("binance", "BTC/USDT", diff.first_id, diff.last_id, diff.bids, diff.asks)
        features = tracker.update(store, "binance", "BTC/USDT")
        if features is not None:
            rows.append(features)
        if len(rows) >= SIZES.window + count:
            break
    series = np.array(rows)
    return np.stack([series[i : i + SIZES.window] for i in range(count)])


def test_rust_forward_equals_the_numpy_reference_on_random_windows(tmp_path: Path) -> None:
    path, params = weights(tmp_path)
    model = AttentionModel.load(str(path))
    rng = np.random.default_rng(1)
    windows = rng.normal(0, 2, (200, SIZES.window, len(FEATURES)))
    expected = forward(params, SIZES, windows)
    for window, probabilities in zip(windows, expected, strict=True):
        got = np.array(model.forward(window.astype(np.float32).tolist()))
        np.testing.assert_allclose(got, probabilities, atol=1e-5, rtol=0)
    assert expected.std(axis=0).max() > 0.01, "the windows are told apart"


def test_rust_forward_equals_the_numpy_reference_on_real_windows(tmp_path: Path) -> None:
    path, params = weights(tmp_path, seed=11)
    model = AttentionModel.load(str(path))
    windows = real_windows(300)
    assert np.abs(windows).sum(axis=(1, 2)).min() > 0, "real features, not zeros"
    expected = forward(params, SIZES, windows.astype(np.float32).astype(np.float64))
    got = np.array([model.forward(window.tolist()) for window in windows.astype(np.float32)])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_the_live_signal_answers_once_a_window_is_full(tmp_path: Path) -> None:
    path, params = weights(tmp_path)
    signal, store = Signal(str(path)), BookStore()
    tracker = FeatureTracker()
    answers, rows = [], []
    for step in range(SIZES.window + 3):
        bid = 100 + step % 5
        store.apply_snapshot("v", "X/USDT", step + 1, [[bid, 1 + step]], [[bid + 1, 2]])
        answers.append(signal.update(store, "v", "X/USDT"))
        rows.append(tracker.update(store, "v", "X/USDT"))
    assert answers[: SIZES.window - 1] == [None] * (SIZES.window - 1)
    window = np.array([rows[-SIZES.window :]], dtype=np.float32).astype(np.float64)
    np.testing.assert_allclose(answers[-1], forward(params, SIZES, window)[0], atol=1e-5)


def corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00" * 16 + data[16:])
    elif how == "not safetensors":
        path.write_text("hello")


@pytest.mark.parametrize("how", ["truncated", "garbage", "not safetensors"])
def test_a_damaged_weights_file_is_refused_in_one_line(tmp_path: Path, how: str) -> None:
    path, _ = weights(tmp_path)
    corrupt(path, how)
    with pytest.raises(
        ValueError, match=r"weights.safetensors: not a valid safetensors file"
    ) as error:
        AttentionModel.load(str(path))
    assert "\n" not in str(error.value)


def test_a_file_for_other_features_or_sizes_is_refused(tmp_path: Path) -> None:
    path, params = weights(tmp_path)
    # The same tensors described as a narrower model.
    save(path, params, Sizes(window=16, d_model=8, heads=4, hidden=32, horizon=20), {})
    with pytest.raises(
        ValueError, match=r"tensor embed.weight: shape \[16, 11\], expected \[8, 11\]"
    ):
        AttentionModel.load(str(path))
    # Features renamed: trained on something this build does not compute.
    save(path, params, SIZES, {})
    tensors = load_file(str(path))
    metadata = {
        "features": '["spread_bps"]',
        "window": "16",
        "d_model": "16",
        "heads": "4",
        "layers": "1",
        "hidden": "32",
        "horizon": "20",
    }
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"features \[\"spread_bps\"\] do not match"):
        AttentionModel.load(str(path))
    with pytest.raises(OSError, match="absent"):
        AttentionModel.load(str(tmp_path / "absent.safetensors"))


# -- training's gradients ------------------------------------------------------------------------


def test_training_forward_equals_the_reference_and_gradients_equal_finite_differences() -> None:
    sizes = Sizes(window=5, d_model=8, heads=2, hidden=12, horizon=3)
    rng = np.random.default_rng(3)
    params = initial_params(sizes, rng)
    for name in params:
        if name not in FROZEN:
            params[name] = params[name] + rng.normal(0, 0.2, params[name].shape)
    windows = rng.normal(0, 1, (6, sizes.window, len(FEATURES)))
    labels = rng.integers(0, 3, 6)
    loss, gradients, probabilities = loss_and_gradients(params, sizes, windows, labels)
    np.testing.assert_allclose(probabilities, forward(params, sizes, windows), atol=1e-12)
    assert set(gradients) == set(params) - FROZEN
    step = 1e-6
    for name, gradient in gradients.items():
        assert gradient.shape == params[name].shape, name
        for _ in range(3):  # a few entries of every tensor
            index = tuple(rng.integers(0, n) for n in params[name].shape)
            original = params[name][index]
            params[name][index] = original + step
            up = loss_and_gradients(params, sizes, windows, labels)[0]
            params[name][index] = original - step
            down = loss_and_gradients(params, sizes, windows, labels)[0]
            params[name][index] = original
            numeric = (up - down) / (2 * step)
            assert abs(numeric - gradient[index]) < 1e-6 + 1e-4 * abs(numeric), (name, index)
    assert loss > 0


@pytest.mark.parametrize("how", ["truncated", "garbage", "mismatched", "absent"])
def test_the_daemon_refuses_bad_weights_at_start_in_one_line(tmp_path: Path, how: str) -> None:
    path, params = weights(tmp_path)
    if how == "mismatched":
        save(path, params, Sizes(window=16, d_model=8, heads=4, hidden=32, horizon=20), {})
    elif how == "absent":
        path.unlink()
    else:
        corrupt(path, how)
    config = write_config(
        tmp_path,
        f'state_dir = "{tmp_path / "state"}"\n[signal]\nweights = "weights.safetensors"\n',
    )
    for command in ("check-config", "run"):
        result = arbiter(command, "-c", str(config))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"arbiter: {config}: key signal.weights: {path}"), lines[0]
    assert not (tmp_path / "state").exists(), "nothing started"


def test_arbiter_train_writes_weights_the_core_loads_and_a_report_with_baselines(
    tmp_path: Path,
) -> None:
    out = tmp_path / "signal.safetensors"
    data = [
        str(RECORDINGS / name) for name in ("spot_btcusdt_20240808.gz", "usdm_btcusdt_20240808.gz")
    ]
    result = arbiter("train", "--data", *data, "--out", str(out), "--epochs", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    model = AttentionModel.load(str(out))  # the Rust core takes what training wrote
    assert json.loads(model.metadata["trained_on"]) == [Path(d).name for d in data]
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert set(report["results"]) == {"attention", "majority", "logistic_imbalance"}
    for metrics in report["results"].values():
        assert {"accuracy", "log_loss", "trades", "mean_move_per_trade_bps"} <= set(metrics)
    train_range, test_range = report["time_range_ns"]["train"], report["time_range_ns"]["test"]
    assert train_range[1] < test_range[0], "the held-out part comes later and does not overlap"
    assert len(report["validation_log_loss_by_epoch"]) == 2
    assert "majority" in result.stdout
