// Package imap is mailport's IMAP adapter: a mail.Inbound on
// github.com/emersion/go-imap/v2's imapclient.
//
// It connects with implicit TLS, STARTTLS or in the clear, authenticates with
// LOGIN, AUTHENTICATE PLAIN, XOAUTH2 or OAUTHBEARER, maps configured folder
// paths such as "Inbox/Endpoint" to the server's hierarchy delimiter, and
// streams messages with pipelined UID FETCH BODY.PEEK[] batches so that no
// message is ever held in memory whole.
//
// Every network step is bounded by the endpoint's step timeout and by the
// caller's context: when either runs out the connection is closed, because an
// IMAP connection with a half-read response cannot be reused.
//
// Nothing a server sends is trusted (see limit.go). Outside message bodies
// every line is held to 256 KiB (the UID SEARCH line to 11 bytes per
// message of the folder, at most 12 MiB) and each
// command's replies to 4 MiB (16 MiB for UID SEARCH), counted under
// imapclient's reader before its decoder builds anything; a literal where
// none was asked for is refused from its announced size before a byte of it
// is read. Each step has one deadline that progress cannot extend; a body
// must keep arriving (one step timeout per read) and arrive whole within one
// step timeout plus its size at 4 KiB/s. UID 0, more than a million UIDs,
// listed messages the listing never answers, an absurd RFC822.SIZE and a
// folder without UIDVALIDITY are refused rather than guessed at. Each such
// refusal is a *ServerError naming the server and what it did.
//
// Two go-imap behaviours are worked around here rather than patched:
//   - imapclient arms a fixed 30-second read deadline even while the
//     connection is idle between commands, so a caller that spends longer
//     than that writing a message to disk would find the connection dead.
//     The adapter ignores imapclient's read deadlines and times its own waits
//     instead (see step and stepReader).
//   - imapclient answers an empty SASL challenge response with "=", which is
//     only valid for an initial response (RFC 4959); Dovecot 2.3 answers it
//     with "BAD Invalid base64 data in continued response" and the real
//     refusal ("AUTHENTICATE failed.") is lost. The adapter sends the empty
//     line RFC 3501 asks for.
package imap
