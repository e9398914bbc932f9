// Package pop3 is mailport's POP3 adapter: a small client (RFC 1939, CAPA and
// PIPELINING from RFC 2449, STLS from RFC 2595, AUTH from RFC 5034) that
// implements mail.Inbound.
//
// It is written on the standard library rather than on a POP3 module because
// retrieval must be byte-exact and streamed: a message is handed to the
// caller as it arrives, with dot-stuffing undone and every line ending and
// line length left exactly as the server sent them. net/textproto's
// DotReader is not used for bodies because it rewrites CRLF into LF.
//
// Capabilities are reported one per CAPA line, upper-cased, with arguments
// separated by single spaces ("UIDL", "PIPELINING", "STLS",
// "IMPLEMENTATION DOVECOT"), except that the SASL line becomes one entry per
// mechanism: "SASL PLAIN XOAUTH2" is reported as "SASL PLAIN" and
// "SASL XOAUTH2".
//
// POP3 has one folder, the inbox, no flags and no dates: Open accepts only ""
// and INBOX, MarkSeen and Move return mail.ErrUnsupported, List ignores
// Criteria.Unseen (callers keep their own record of what they fetched by
// UIDL) and refuses Criteria.Since with an error wrapping
// mail.ErrUnsupported.
// Deletions are marked with DELE and take effect only when the server
// accepts QUIT at Close; if the connection breaks first, the messages stay.
//
// XOAUTH2 is sent in the two-line form by default (AUTH XOAUTH2, then the
// base64 response after the server's "+"), which Microsoft requires because a
// real token makes the one-line form longer than POP3's 255-octet command
// limit. The account property pop3.xoauth2.two_line: "false" selects the
// one-line form.
//
// Timeouts: every read and write must make progress within the endpoint's
// step timeout, so a silent server is noticed in time. Every reply but a
// message body (a status line, a CAPA, UIDL or LIST listing, an AUTH
// continuation) must also be complete within one step timeout of when the
// client starts waiting for it, and what arrives does not extend that: a
// server that floods or trickles a reply forever is cut off with
// ErrEndlessReply ("kept sending for 30s without finishing its reply"). A
// message body streams for as long as it keeps coming at a real line's
// pace: every step timeout spent waiting for it must bring at least 16,000
// octets (ErrTooSlow otherwise), so a large message on a slow line is never
// cut while a server that drips a byte now and then is. Its LIST size is a
// hint: only a body past twice it plus 16 MB (512 MB when the size is
// unknown) is cut off (ErrMessageTooLong). A message cut off either way
// stays on the server.
// A cancelled context interrupts a blocked call at once.
//
// Limits: a line is at most 64 KiB (ErrLineTooLong), a listing at most
// 300,000 entries (ErrListingTooLong), a UIDL at most RFC 1939's 70
// octets; a greeting that is not "+OK" (an IMAP, SMTP or web server on
// the port) is ErrNotPOP3. A server that gives one UIDL to several
// messages keeps the UIDL for the oldest and derived ids for the others
// (see Client.Warnings), so no message becomes unreachable. After a timeout, a cancellation mid-exchange or any other
// I/O error the client is out of step with the server and refuses further
// work; Close then only closes the connection.
//
// The transcript written to Endpoint.Trace has lines "pop3 C: ..." (sent)
// and "pop3 S: ..." (received); passwords, tokens and SASL responses are
// redacted and message bodies appear as "<n octets>".
package pop3
