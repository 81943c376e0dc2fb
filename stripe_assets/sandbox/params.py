"""Stripe's request parameters: form encoding with bracketed keys.

`metadata[order]=7` is {"metadata": {"order": "7"}}; `expand[]=a` and `expand[0]=a` (the
official SDKs index arrays) are {"expand": ["a"]}; `created[gte]=1` is {"created": {"gte": "1"}}.
Query string and form body are read the same way, as Stripe does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def parse_params(*encoded: str) -> Params:
    """Merge form-encoded strings (query string, then body) into nested params."""
    root: Params = {}
    for text in encoded:
        if not text:
            continue
        for key, value in parse_qsl(text, keep_blank_values=True):
            _assign(root, key, value)
    return _listify(root)


def _assign(root: Params, key: str, value: str) -> None:
    match = _KEY.match(key)
    if match is None:  # malformed brackets: keep the key as it came, Stripe will reject it
        root[key] = value
        return
    path = [match.group(1), *_SEGMENT.findall(match.group(2))]
    node: Any = root
    for i, segment in enumerate(path[:-1]):
        nxt = path[i + 1]
        child = node.get(segment) if isinstance(node, dict) else None
        if nxt == "":  # name[] appends to a list
            if not isinstance(child, list):
                child = []
                node[segment] = child
            if i + 1 == len(path) - 1:
                child.append(value)
                return
            raise ValueError(f"Invalid array: {key}")  # name[][x]: no request here needs it
        if not isinstance(child, dict):
            child = {}
            node[segment] = child
        node = child
    node[path[-1]] = value


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indexes ("0", "1", ...) become lists, in index order."""
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    if isinstance(node, list):
        return [_listify(v) for v in node]
    return node
