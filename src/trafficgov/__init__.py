"""trafficgov — 公安交管“放管服”平台 (traffic-police platform for the 放管服 reform)."""

__version__ = "0.1.0"
