"""Parts of LLM taggers that do not depend on one SDK: wire format, tags, packing, backoff."""
