"""The OpenAPI document as YAML: served at /openapi.yaml and committed as openapi.yaml."""

from pathlib import Path
from typing import Any

import yaml

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"
# Where the app keeps the document it rendered at start-up: app.extensions[...] = (yaml, json).
EXTENSION = "narratives.openapi"


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so descriptions read as written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render(spec: dict[str, Any]) -> str:
    ordered = {"openapi": spec["openapi"], **{k: v for k, v in spec.items() if k != "openapi"}}
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
