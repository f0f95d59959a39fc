"""Sign-off and timing: approvals bound to the content hash, review links, scheduled sends, errata."""
