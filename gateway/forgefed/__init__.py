"""ForgeFed / ActivityPub: the router's public actor surface and the Crater task upstream.

`httpsig` (signatures), `documents` (JSON-LD documents), `ratelimit` and `crater_flow` are pure;
`remote`, `federation`, `surface` and `crater` do the I/O.
"""
