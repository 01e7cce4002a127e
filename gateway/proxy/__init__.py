"""The Anthropic pass-through proxy: pure header/identity rules, the forwarding loop, streaming."""
