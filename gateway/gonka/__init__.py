"""Gonka signed inference: request signing (pure) and the OpenAI-route forwarder (I/O)."""
