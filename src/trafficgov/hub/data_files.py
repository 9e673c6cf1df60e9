"""The hub's dated data files, loaded and validated together: the platform refuses to start on an invalid one."""

from __future__ import annotations


def load_all() -> None:
    """The standard model, every source mapping, the sharing catalogue, the quality rules, the golden-record and
    linkage settings (each loader is cached, so later use costs nothing)."""
    from trafficgov.hub import golden, link, quality, sharing
    from trafficgov.hub.mapping import mappings
    from trafficgov.hub.standard import standard

    standard()
    mappings()
    sharing.catalogue()
    quality.rules()
    golden.golden_settings_versions()
    link.settings_at()
