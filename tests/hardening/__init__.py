"""The promises of the Limits page, each checked against hostile or faulty clients and servers."""
