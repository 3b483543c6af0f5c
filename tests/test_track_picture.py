"""The engine's track picture keeps its columns with their tracks as the tracker's rows change."""

from __future__ import annotations

import math

import numpy as np

from counterram.track_picture import COLUMNS, TrackPicture
from counterram.tracking.tracker import TrackerOutput, TrackStatus


def _out(ids: list[int], confirmed: list[bool], t: float = 0.0) -> TrackerOutput:
    n = len(ids)
    x = np.arange(n * 7, dtype=float).reshape(n, 7)
    return TrackerOutput(
        time_s=t, track_id=np.array(ids, dtype=np.int64),
        status=np.where(confirmed, TrackStatus.CONFIRMED, TrackStatus.TENTATIVE).astype(np.int8),
        state_time_s=np.full(n, t), x=x, P=np.tile(np.eye(7), (n, 1, 1)),
        n_updates=np.arange(n), first_s=np.zeros(n), confirmed_s=np.zeros(n),
        munition_hint=("",) * n, plot_track_id=np.zeros(0, np.int64), events=(), counters={},
    )


def test_columns_follow_their_tracks_and_new_tracks_start_fresh() -> None:
    picture = TrackPicture()
    picture.advance(_out([3, 5, 9], [True, False, True]))
    picture.col("predicted_s")[:] = [1.0, 2.0, 3.0]
    picture.col("munition")[:] = ["107mm", "", "81mm"]
    # the tracker drops 5, keeps 9 and 3 in another order and starts 12
    picture.advance(_out([9, 3, 12], [True, True, False], t=0.5))
    assert picture.track_id.tolist() == [9, 3, 12]
    assert picture.col("predicted_s").tolist() == [3.0, 1.0, -math.inf]
    assert picture.col("munition").tolist() == ["81mm", "107mm", ""]
    assert picture.confirmed.tolist() == [True, True, False]
    for name, (_, default) in COLUMNS.items():
        assert picture.col(name)[2] == default, name
    assert picture.rows_of([12, 5, 3]).tolist() == [2, -1, 1]
    assert picture.unconfirmed_ids() == {12, 5}  # 5 left tentative in this step


def test_a_departed_track_stays_readable_for_one_step() -> None:
    picture = TrackPicture()
    picture.advance(_out([1, 2], [True, False]))
    picture.col("intercept_s")[0] = 42.0
    picture.advance(_out([2], [True], t=0.5))
    assert picture.departed().tolist() == [1]
    rows, columns, i = picture.find(1)
    assert columns["intercept_s"][i] == 42.0
    assert rows.status[i] == TrackStatus.CONFIRMED  # as the step before saw it
    assert rows.x[i].tolist() == list(range(7))
    assert picture.find(7) is None
    assert picture.unconfirmed_ids() == set()  # 2 confirmed now, 1 confirmed when it left
    picture.advance(_out([2], [True], t=1.0))
    assert picture.find(1) is None and picture.departed().size == 0
