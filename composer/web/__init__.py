"""`bulletin serve`: one-click unsubscribe, the unsubscribe pages and the SendGrid webhook."""
