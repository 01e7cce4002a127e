"""Router-issued `la_sk_` tokens: format, records, stores and the service that ties them together."""
