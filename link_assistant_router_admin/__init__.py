"""Client of the Link.Assistant.Router admin gRPC API (`linkassistant.router.admin.v1`).

    async with AdminClient.connect("router.example:9090", ca_file="ca.pem", admin_key=key) as admin:
        created = await admin.create_token(label="ci", max_requests=100)
        async for token in admin.list_tokens(filter="revoked=false"):
            ...

The generated messages and stubs are in `link_assistant_router_admin.v1`. This package stands
alone: it never imports the gateway (an import-linter contract keeps it so).
"""

from link_assistant_router_admin.channel import ChannelOptions, open_channel
from link_assistant_router_admin.client import AdminClient
from link_assistant_router_admin.errors import AdminError, FieldViolation

__all__ = ["AdminClient", "AdminError", "ChannelOptions", "FieldViolation", "open_channel"]
