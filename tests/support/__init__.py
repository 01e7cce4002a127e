"""Shared test helpers: upstream stand-ins and a real gateway on 127.0.0.1."""
