"""The site's part of the OpenAPI schema: what its own middleware answers, whatever the view."""

REFUSED_QUERY = {
    "description": "A query parameter whose name or value holds a control character or is not UTF-8 "
                   "(the site refuses it before any view runs).",
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"],
    }}},
}


def document_refused_queries(result, generator, request, public):
    """Add the middleware's 400 to every operation that takes query parameters (a postprocessing hook)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                operation["responses"].setdefault("400", REFUSED_QUERY)
    return result
