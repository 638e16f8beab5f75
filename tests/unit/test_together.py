"""The alone-vs-together comparison: a case is worse together only beyond its worst alone run and the slack."""

from __future__ import annotations

from labkit.together import compared, table


def test_a_case_within_its_alone_runs_spread_is_not_worse_together():
    row = compared("edge.wan_address_change", [{"loss_ms": 2450, "reconverge_s": 3.1},
                                               {"loss_ms": 8600, "reconverge_s": 8.6}],
                   {"loss_ms": 8050, "reconverge_s": 7.6})
    assert row["alone"] == {"loss_ms": 8600, "reconverge_s": 8.6} and not row["worse_together"]
    assert "8600 (2450, 8600)" in table([row])


def test_a_case_beyond_its_worst_alone_run_and_the_slack_is_worse_together():
    alone = [{"loss_ms": 0, "reconverge_s": 12.1}, {"loss_ms": 20, "reconverge_s": 12.5}]
    assert compared("failover.spoke_restart", alone, {"loss_ms": 0, "reconverge_s": 16.6})["worse_together"]
    assert compared("failover.wan_down", alone, {"loss_ms": 140, "reconverge_s": 12.0})["worse_together"]
    assert not compared("failover.wan_down", alone, {"loss_ms": 120, "reconverge_s": 13.5})["worse_together"]
    never = compared("failover.hub_return", alone, {"loss_ms": 0, "reconverge_s": None})
    assert never["worse_together"]  # recovered in every alone run, never together
