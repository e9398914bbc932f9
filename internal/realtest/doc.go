// Package realtest proves mailport against real mail servers: Dovecot 2.3
// (IMAP, POP3) and Postfix 3.7 (SMTP submission through Dovecot SASL) from
// internal/testbed, with OAuth2 tokens issued by the fake authorization
// server in pkg/oauth/oauthtest and checked by Dovecot's oauth2 passdb
// through its introspection endpoint.
//
// It holds tests only. One bed and one fake authorization server serve the
// whole package (started by TestMain and on first use), so the package runs
// in seconds:
//
//   - the round trip through the CLI: token config, accounts, `mailport
//     authenticate`, `mailport send` through Postfix with XOAUTH2 (STARTTLS and
//     implicit TLS) and PLAIN, then the message read back over IMAP (XOAUTH2)
//     and POP3 (two-line XOAUTH2) byte for byte;
//   - byte-exact retrieval of messages naive clients corrupt, and a 30 MB
//     message streamed with the heap staying flat;
//   - tokens of the wrong audience or without the protocol's scope, and wrong
//     passwords, refused by the real servers with their own words kept;
//   - one Google service account (JWT-bearer grants with domain-wide
//     delegation) serving two mailboxes: `mailport fetch` over IMAP and POP3
//     and `mailport send` through Postfix, with no client secret and no
//     refresh token anywhere;
//   - the IMAP adapter's shared suite (pkg/imap/imaptest) against Dovecot;
//   - other mail programs with mailport as their OAuth2 credential helper:
//     mbsync (isync) syncing INBOX with `PassCmd "mailport token ..."` and
//     XOAUTH2, the mailport binary it starts refreshing the expired token;
//     msmtp sending through Postfix with `passwordeval "mailport token ..."`
//     and XOAUTH2, then OAUTHBEARER.
//
// The tests skip on a machine without root or the Debian packages named by
// testbed.InstallHint (and, for the credential helper tests, isync with
// libsasl2-modules-kdexoauth2, and msmtp), and fail there when
// MAILPORT_REQUIRE_REALSERVERS=1.
package realtest
