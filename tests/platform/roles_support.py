"""The URL patterns as endpoints with the methods that write, for the role table tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
HTTP_METHODS = ("GET", "HEAD", "OPTIONS", *WRITE_METHODS)


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str
    methods: tuple[str, ...]
    is_api: bool

    def path(self) -> str:
        """The route with every parameter filled by an id no object has (a refusal comes before the lookup)."""
        path = re.sub(r"<(?:int:)?[a-z_]+>", "999999", self.route)
        path = re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "x", path).lstrip("^").rstrip("$")
        return "/" + path


def _patterns(patterns, prefix="", namespaces=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            space = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), space)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern, namespaces


def declared_methods(view) -> tuple[str, ...] | None:
    """The methods a function view's require_http_methods lets through; None when it declares none."""
    seen, queue = set(), [view]
    while queue:
        function = queue.pop()
        if id(function) in seen or not callable(function):
            continue
        seen.add(id(function))
        for cell in getattr(function, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (list, tuple)) and value and all(item in HTTP_METHODS for item in value):
                return tuple(value)
            if callable(value):
                queue.append(value)
        if hasattr(function, "__wrapped__"):
            queue.append(function.__wrapped__)
    return None


def endpoints() -> list[Endpoint]:
    found = []
    for route, pattern, namespaces in _patterns(get_resolver().url_patterns):
        if "admin" in namespaces:
            continue  # the Django admin checks its own model permissions
        callback = pattern.callback
        view_class = getattr(callback, "cls", None)
        if view_class is not None:
            methods = tuple(method.upper() for method in view_class.http_method_names if hasattr(view_class, method))
            methods = tuple(method for method in methods if method not in ("OPTIONS",))
            found.append(Endpoint(pattern.name, route, methods, True))
        else:
            view_class = getattr(callback, "view_class", None)
            if view_class is not None:
                methods = tuple(
                    m.upper() for m in view_class.http_method_names if hasattr(view_class, m) and m != "options"
                )
            else:
                methods = declared_methods(callback) or ("GET",)
            found.append(Endpoint(pattern.name, route, methods, False))
    return found


def write_endpoints() -> list[tuple[Endpoint, str]]:
    return [(endpoint, method) for endpoint in endpoints() for method in endpoint.methods if method in WRITE_METHODS]
