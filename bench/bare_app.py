"""The bare baseline for bench/api_lookup.py: one endpoint of the same framework, served the same way."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"status": "ok"}
