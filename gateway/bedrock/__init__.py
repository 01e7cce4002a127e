"""The Bedrock surface: InvokeModel / InvokeModelWithResponseStream over the Messages API."""
