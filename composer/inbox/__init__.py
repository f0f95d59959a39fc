"""`bulletin inbox`: read the bounce and mailto-unsubscribe mailbox back into the store.

`mailboxes` opens a Maildir, an mbox file or an IMAP folder; `classify` says what each
message is (a permanent or temporary failure naming its delivery by a signed VERP token,
a mailto unsubscribe carrying a signed unsubscribe token, an auto-reply, anything else);
`run` applies what it found through the store (`store.bounces`, the one-click
unsubscriber) and moves handled messages to `processed`, so a second run does nothing.
"""
