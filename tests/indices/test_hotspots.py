"""Getis-Ord Gi* against esda's G_Local(star=True, transform='B'), edges, NaN, classes, FDR."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from core.errors import InvalidInputError
from indices.hotspots import getis_ord_gi_star, hotspot_classes


def esda_z(grid: np.ndarray, distance: float) -> np.ndarray:
    """esda's Gi* z on the valid cells of ``grid`` with a distance band over cell centres."""
    esda = pytest.importorskip("esda")
    weights = pytest.importorskip("libpysal.weights")
    rows, cols = np.nonzero(np.isfinite(grid))
    coords = np.column_stack([cols, rows]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = weights.DistanceBand(
            coords, threshold=distance + 1e-9, binary=True, silence_warnings=True
        )
        g = esda.G_Local(grid[rows, cols], w, transform="B", star=True, permutations=0)
    out = np.full(grid.shape, np.nan)
    out[rows, cols] = g.Zs
    return out


def direct_z(grid: np.ndarray, distance: float) -> np.ndarray:
    """The DESIGN section 4 formula, cell by cell (dense, for tiny grids)."""
    rows, cols = np.nonzero(np.isfinite(grid))
    x = grid[rows, cols]
    n, mean, s = x.size, x.mean(), x.std()
    d = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
    w = (d <= distance + 1e-9).astype(float)
    wi = w.sum(axis=1)
    z = (w @ x - mean * wi) / (s * np.sqrt((n * wi - wi**2) / (n - 1)))
    out = np.full(grid.shape, np.nan)
    out[rows, cols] = z
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20220715)


@pytest.mark.parametrize("distance", [1.0, np.sqrt(2.0), 2.0, 3.0])
@pytest.mark.parametrize("shape", [(7, 9), (12, 5)])
def test_matches_esda_on_positive_grids_including_edges(
    rng: np.random.Generator, distance: float, shape: tuple[int, int]
) -> None:
    grid = rng.uniform(290.0, 320.0, size=shape)
    grid[1:3, 1:3] += 8.0  # a hot corner cluster touching the edge
    ours = getis_ord_gi_star(grid, distance)
    np.testing.assert_allclose(ours, esda_z(grid, distance), atol=1e-6, rtol=0)
    # edges: the first/last rows and columns are compared like every other cell
    assert np.isfinite(ours[[0, -1], :]).all() and np.isfinite(ours[:, [0, -1]]).all()


def test_queen_weights_equal_libpysal_lat2w(rng: np.random.Generator) -> None:
    esda = pytest.importorskip("esda")
    weights = pytest.importorskip("libpysal.weights")
    grid = rng.gamma(4.0, 5.0, size=(6, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = weights.lat2W(6, 8, rook=False)
        g = esda.G_Local(grid.ravel(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(
        getis_ord_gi_star(grid, np.sqrt(2.0)).ravel(), g.Zs, atol=1e-6, rtol=0
    )


def test_nan_cells_are_excluded_and_stay_nan(rng: np.random.Generator) -> None:
    grid = rng.uniform(20.0, 40.0, size=(10, 10))
    grid[rng.random(grid.shape) < 0.2] = np.nan
    grid[0, :] = np.nan
    ours = getis_ord_gi_star(grid, 2.0)
    assert np.array_equal(np.isnan(ours), np.isnan(grid))
    np.testing.assert_allclose(ours, esda_z(grid, 2.0), atol=1e-6, rtol=0)


def test_negative_mean_follows_the_design_formula_not_esda_sign(rng: np.random.Generator) -> None:
    grid = rng.uniform(-30.0, -10.0, size=(8, 8))
    grid[3:5, 3:5] = 5.0  # warmest cells: positive z by DESIGN section 4
    ours = getis_ord_gi_star(grid, 1.5)
    np.testing.assert_allclose(ours, direct_z(grid, 1.5), atol=1e-9, rtol=0)
    np.testing.assert_allclose(ours, -esda_z(grid, 1.5), atol=1e-6, rtol=0)
    assert ours[3, 3] > 0


def test_dataarray_distance_in_crs_units_keeps_coords() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(295, 305, size=(9, 11))
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": 5000.0 - 30.0 * np.arange(9) - 15, "x": 30.0 * np.arange(11) + 15},
        attrs={"units": "K"},
    )
    z = getis_ord_gi_star(da, 60.0)
    np.testing.assert_allclose(z.values, getis_ord_gi_star(values, 2.0), atol=1e-12)
    assert z.dims == ("y", "x") and np.array_equal(z["x"], da["x"])
    assert z.attrs["units"] == "1" and z.attrs["distance"] == 60.0


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(InvalidInputError, match="distance"):
        getis_ord_gi_star(np.ones((3, 3)), -1.0)
    with pytest.raises(InvalidInputError, match="2-D"):
        getis_ord_gi_star(np.ones(5), 1.0)
    irregular = xr.DataArray(
        np.ones((3, 3)), dims=("y", "x"), coords={"y": [0, 1, 3], "x": [0, 1, 2]}
    )
    with pytest.raises(InvalidInputError, match="irregular y"):
        getis_ord_gi_star(irregular, 1.0)


def test_constant_grid_has_no_defined_z() -> None:
    assert np.isnan(getis_ord_gi_star(np.full((4, 4), 300.0), 1.0)).all()


def test_planted_cluster_is_a_hot_spot_at_99_percent() -> None:
    rng = np.random.default_rng(7)
    grid = rng.normal(300.0, 1.0, size=(200, 200))
    grid[90:110, 120:140] += 4.0
    z = getis_ord_gi_star(grid, 3.0)
    classes = hotspot_classes(z)
    assert (classes[95:105, 125:135] == 3).all()
    fdr = hotspot_classes(z, fdr=True)
    # FDR is never more permissive than the fixed cut-offs, and still finds the cluster core.
    assert (np.abs(fdr) <= np.abs(classes)).all()
    assert (fdr[95:105, 125:135] == 3).all()
    # Far from the cluster, FDR keeps chance "hot spots" rare.
    background = fdr[:60, :60]
    assert (background != 0).mean() < 0.02


def test_classes_thresholds_and_sign() -> None:
    z = np.array([2.576, 2.575, 1.96, 1.959, 1.645, 1.644, -1.645, -2.0, -3.0, np.nan])
    assert hotspot_classes(z).tolist() == [3, 2, 2, 1, 1, 0, -1, -2, -3, 0]
    da = xr.DataArray(z.reshape(2, 5), dims=("y", "x"))
    out = hotspot_classes(da, fdr=True)
    assert out.dtype == np.int8 and out.dims == ("y", "x") and out.attrs["fdr"] == 1


def test_fdr_benjamini_hochberg_by_hand() -> None:
    # p-values of |z| = 3.0, 2.5, 2.0, 0.5: 0.0027, 0.0124, 0.0455, 0.617 (m = 4).
    # alpha 0.05: k/m*alpha = 0.0125, 0.025, 0.0375, 0.05 -> accepts ranks 1..2 (0.0124 <= 0.025).
    # alpha 0.01: 0.0025, 0.005, ... -> nothing (0.0027 > 0.0025). alpha 0.10: ranks 1..3.
    z = np.array([3.0, 2.5, 2.0, 0.5])
    assert hotspot_classes(z, fdr=True).tolist() == [2, 2, 1, 0]


def test_large_grid_runs_without_a_dense_matrix() -> None:
    grid = np.random.default_rng(3).normal(300, 2, size=(1000, 1000))
    z = getis_ord_gi_star(grid, 5.0)
    assert z.shape == grid.shape and np.isfinite(z).all()
