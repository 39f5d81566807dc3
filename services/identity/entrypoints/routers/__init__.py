"""One router per resource, each a module exposing `router`; http.py assembles them."""
