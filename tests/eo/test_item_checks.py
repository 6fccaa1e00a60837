"""Items whose CRS disagrees with their tile are left out with a reason, never silently."""

from __future__ import annotations

import pytest

from alerts.products.manifest import scenes_manifest
from eo.item_checks import RejectedItemWarning, epsg_problem, split_consistent
from eo.scenes import SceneStack


def _item(item_id: str, **props: object) -> dict[str, object]:
    return {"id": item_id, "properties": props}


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        (_item("S2A_33UWP_20220601_0_L2A", **{"proj:epsg": 32633}), None),
        (_item("S2A_33UWP_20220601_0_L2A", **{"proj:epsg": 32634}), "EPSG:32633"),
        (_item("x", **{"proj:code": "EPSG:32733", "s2:mgrs_tile": "33UWP"}), "EPSG:32633"),
        (_item("x", **{"proj:epsg": 32719, "mgrs:utm_zone": 19, "mgrs:latitude_band": "H"}), None),
        (
            _item("x", **{"proj:epsg": 32619, "mgrs:utm_zone": 19, "mgrs:latitude_band": "H"}),
            "south",
        ),
        (_item("LC08_L2SP_190026_20220620_02_T1", **{"proj:epsg": 32633}), None),  # no MGRS tile
        (_item("S2A_33UWP_20220601_0_L2A"), None),  # no CRS to compare
    ],
)
def test_epsg_is_compared_with_the_tile(item: dict[str, object], problem: str | None) -> None:
    found = epsg_problem(item)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and problem in found


def test_rejected_items_are_warned_and_listed_in_the_manifest() -> None:
    good = _item("S2A_33UWP_20220601_0_L2A", **{"proj:epsg": 32633})
    bad = _item("S2B_33UXP_20220601_0_L2A", **{"proj:epsg": 32634})
    with pytest.warns(RejectedItemWarning, match="S2B_33UXP_20220601_0_L2A left out"):
        kept, rejected = split_consistent([good, bad])
    assert kept == [good] and [r[0] for r in rejected] == ["S2B_33UXP_20220601_0_L2A"]
    stack = SceneStack.concat(
        [SceneStack(cube=None, rejected=tuple(rejected)), SceneStack(cube=None)]
    )
    listed = scenes_manifest([stack], used=set())["rejected_items"]
    assert listed == [{"id": "S2B_33UXP_20220601_0_L2A", "reason": rejected[0][1]}]
