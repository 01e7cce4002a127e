"""gRPC admin API: servicers over the gateway's token, account, provider, usage and config services."""
