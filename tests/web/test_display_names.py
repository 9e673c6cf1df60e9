"""Staff pages name people by their display names (accounts.service.display_names)."""

from __future__ import annotations

from trafficgov.accounts.service import display_names


def test_display_names_of_known_accounts_only(loaded, accounts):
    names = display_names(loaded, [accounts["officer"]["username"], accounts["legal_reviewer"]["username"], "nobody", None, ""])
    assert names == {
        accounts["officer"]["username"]: accounts["officer"]["display_name"],
        accounts["legal_reviewer"]["username"]: accounts["legal_reviewer"]["display_name"],
    }  # an unknown name and no name at all are left to the page (it shows what it has)
    assert display_names(loaded, []) == {}
