"""The Vertex AI surface: rawPredict / streamRawPredict / count-tokens over the Messages API."""
