"""演示城市 — a deterministic synthetic Jinan (济南) for the quick start, the tests and the benchmarks.

`build_city(seed, size, as_of, out_dir)` writes people, companies, licences, vehicles, employments,
organisations, roads and cameras, three years of violations, accidents, inspections, safety records
and GPS alarms, plus the planted latent risks (`truth.json`). Same arguments, same bytes.
The generative model is described in docs/demo-city.md.
"""

from trafficgov.demo.city import SIZES, CityManifest, build_city, load_manifest

__all__ = ["SIZES", "CityManifest", "build_city", "load_manifest"]
