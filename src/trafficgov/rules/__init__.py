"""规则即数据 — dated rule data (behaviours, statutory ranges, points, discretion, leniency) and its loader."""

from trafficgov.rules.loader import DATA_DIR, Rulebook, RuleFileError, RuleSet, default_rulebook, region_chain

__all__ = ["DATA_DIR", "RuleFileError", "RuleSet", "Rulebook", "default_rulebook", "region_chain"]
