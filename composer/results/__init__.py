"""`bulletin report`: what happened after a send, per copy and per link, from the store."""
